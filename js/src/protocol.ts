/**
 * The messages of docs/protocol.md, and the chunking of large outgoing ones.
 *
 * A message whose JSON text is longer than 4 MiB is sent as `chunk` messages,
 * because a JupyterLab websocket drops a front-end message over 10 MiB silently.
 */

import type { StateValue } from "./values";

export type Hello = { t: "hello"; view: string };
export type SetMsg = { t: "set"; view: string; ns: string; key: string; value: StateValue; id: number };
export type RemoveMsg = { t: "remove"; view: string; ns: string; key: string; id: number };
/** A piece of a message over CHUNK_LIMIT: view -> store, or (with `to`) store -> view (a call's answer). */
export type Chunk = { t: "chunk"; cid: string; i: number; n: number; data: string; to?: string };
/** An error or warning of the page (see pagelog.ts); the store side logs it. */
export type LogMsg = {
  t: "log";
  view: string;
  level: "error" | "warn";
  message: string;
  source: string;
  dropped: number;
};
/** Call the function bound as `object.name` (`object` "": bound without one); see docs/protocol.md, "Calls". */
export type CallMsg = { t: "call"; view: string; id: number; object: string; name: string; args: StateValue[] };
/** The calls a page made in one task, in order: one message, not one per call. */
export type CallsMsg = { t: "calls"; view: string; calls: CallMsg[] };
/** The page gave up on call `id` (AbortSignal or timeout): its result is not wanted. */
export type CancelMsg = { t: "cancel"; view: string; id: number };
export type ViewMessage = Hello | SetMsg | RemoveMsg | Chunk | LogMsg | CallMsg | CallsMsg | CancelMsg;

export type Change = {
  ns: string;
  key: string;
  value: StateValue;
  removed: boolean;
  origin: string;
  rev: number;
};
export type Snapshot = {
  t: "snapshot";
  /** The view that said hello (null: a notebook widget's boot snapshot, for no view in particular). */
  to: string | null;
  seq: number;
  rev: number;
  namespaces: string[] | null;
  state: { [ns: string]: { [key: string]: StateValue } };
  /** The id of the last write of `to` that the snapshot includes (0: none). */
  ack?: number;
};
/** `acks`: per view, the id of its last write that this batch (or an earlier one) carries. */
export type Batch = { t: "batch"; seq: number; changes: Change[]; acks?: { [view: string]: number } };
export type ErrorMsg = { t: "error"; to: string; ns: string; key: string; id: number; message: string };
/** A desktop page's files changed on disk (reload on save): load the page again. */
export type Reload = { t: "reload" };
/** Call `id` of view `to` returned `value`. */
export type ResultMsg = { t: "result"; to: string; id: number; value: StateValue };
/** Call `id` of view `to` failed: `name` is the error's class (a Python exception's), `message` its text. */
export type CallErrorMsg = { t: "callerror"; to: string; id: number; name: string; message: string };
/** Results and call errors that were ready together, in order (each names its view). */
export type AnswersMsg = { t: "answers"; answers: Array<ResultMsg | CallErrorMsg> };
/** One bound function: `Pytonium.object.name` (or `Pytonium.name`), taking `min` to `max` arguments (-1: any). */
export type BoundFunction = { object: string; name: string; min: number; max: number };
/** The functions bound now: before the snapshot a hello asks for, and whenever they change. */
export type FunctionsMsg = { t: "functions"; functions: BoundFunction[] };
export type StoreMessage =
  | Snapshot
  | Batch
  | ErrorMsg
  | Reload
  | ResultMsg
  | CallErrorMsg
  | AnswersMsg
  | FunctionsMsg
  | Chunk;

/** A message ready to go: the object (for postMessage) and its JSON text (for a socket). */
export type Frame = { msg: ViewMessage; json: string };

/** Messages whose JSON text is longer than this many bytes (UTF-8) are chunked. */
export const CHUNK_LIMIT = 4 * 1024 * 1024;
/** Code units of JSON text per chunk: at most 3 MiB of UTF-8 even if all are non-ASCII. */
export const CHUNK_UNITS = 1024 * 1024;

/** UTF-8 length of `text`, counted only as far as needed to compare with `limit`. */
export function utf8Exceeds(text: string, limit: number): boolean {
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4; // a surrogate pair is one 4-byte character
      i++;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}

/**
 * Turn one message into the frames to send: itself, or `chunk` pieces of its JSON
 * text. `cid` must be unique among all views of a link (the runtime uses its view id).
 */
export function frames(msg: ViewMessage, cid: () => string, limit = CHUNK_LIMIT, units = CHUNK_UNITS): Frame[] {
  const json = JSON.stringify(msg);
  if (!utf8Exceeds(json, limit)) return [{ msg, json }];
  const pieces: string[] = [];
  let start = 0;
  while (start < json.length) {
    let end = Math.min(start + units, json.length);
    // Never split a surrogate pair: each half alone would not survive UTF-8.
    const last = json.charCodeAt(end - 1);
    if (end < json.length && last >= 0xd800 && last <= 0xdbff && end - 1 > start) end--;
    pieces.push(json.slice(start, end));
    start = end;
  }
  const id = cid();
  return pieces.map((data, i): Frame => {
    const chunk: Chunk = { t: "chunk", cid: id, i, n: pieces.length, data };
    return { msg: chunk, json: JSON.stringify(chunk) };
  });
}

/**
 * A sender of whole messages over `send`, each split into frames when large, its chunk
 * ids `prefix` + a count (a prefix unique among the link's senders keeps them apart).
 */
export function chunkedSender(send: (frame: Frame) => void, prefix: string): (msg: ViewMessage) => void {
  let chunks = 0;
  return (msg) => {
    const out = frames(msg, () => prefix + ++chunks);
    for (let i = 0; i < out.length; i++) send(out[i]);
  };
}

/** Joins the chunks `frames` made, whatever their order: each message's text once all its pieces came. */
export class ChunkJoiner {
  private readonly parts = new Map<string, string[]>(); // chunk id -> the pieces so far

  /** Keep a chunk's piece: the whole message's text once every piece came, else null. */
  add(msg: Chunk): string | null {
    let got = this.parts.get(msg.cid);
    if (!got) this.parts.set(msg.cid, (got = new Array<string>(msg.n)));
    got[msg.i] = msg.data;
    for (let i = 0; i < msg.n; i++) if (typeof got[i] !== "string") return null;
    this.parts.delete(msg.cid);
    return got.join("");
  }
}
