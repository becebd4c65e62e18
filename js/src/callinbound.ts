/**
 * What calls take from the store (docs/protocol.md, "Calls"): answers for this view
 * (one by one, several at once, or in chunks when large) and the list of bound functions.
 */

import type { BoundFunctions } from "./boundfunctions";
import { namedError, type PendingCalls } from "./pendingcalls";
import type { Chunk, StoreMessage } from "./protocol";

export class CallInbound {
  private readonly parts = new Map<string, string[]>(); // chunk id -> the pieces so far

  constructor(
    private readonly viewId: string,
    private readonly pending: PendingCalls,
    private readonly bound: BoundFunctions,
  ) {}

  /** Take a store message meant for calls; returns false for any other. */
  receive(msg: StoreMessage): boolean {
    if (msg.t === "answers") {
      const answers = Array.isArray(msg.answers) ? msg.answers : [];
      for (let i = 0; i < answers.length; i++) this.receive(answers[i]);
      return true;
    }
    if (msg.t === "functions") {
      this.bound.learn(msg.functions);
      return true;
    }
    if (msg.t === "result" || msg.t === "callerror") {
      if (msg.to !== this.viewId) return true;
      if (!this.pending.has(msg.id)) return true; // given up on (aborted, timed out): the answer is dropped
      if (msg.t === "result") this.pending.settle(msg.id, true, msg.value);
      else this.pending.settle(msg.id, false, namedError(msg.name, msg.message));
      return true;
    }
    if (msg.t === "chunk") {
      if (msg.to !== this.viewId) return true;
      const whole = this.join(msg);
      return whole === null ? true : this.receive(JSON.parse(whole) as StoreMessage);
    }
    return false;
  }

  /** Keep a chunk's piece: the whole message's text once every piece came, else null. */
  private join(msg: Chunk): string | null {
    let got = this.parts.get(msg.cid);
    if (!got) this.parts.set(msg.cid, (got = new Array<string>(msg.n)));
    got[msg.i] = msg.data;
    for (let i = 0; i < msg.n; i++) if (typeof got[i] !== "string") return null;
    this.parts.delete(msg.cid);
    return got.join("");
  }
}
