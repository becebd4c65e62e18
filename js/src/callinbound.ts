/**
 * What calls take from the store (docs/protocol.md, "Calls"): answers for this view
 * (one by one, several at once, or in chunks when large) and the list of bound functions.
 */

import type { BoundFunctions } from "./boundfunctions";
import { namedError, type PendingCalls } from "./pendingcalls";
import { ChunkJoiner, type StoreMessage } from "./protocol";

export class CallInbound {
  private readonly chunks = new ChunkJoiner();

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
      const whole = this.chunks.add(msg);
      return whole === null ? true : this.receive(JSON.parse(whole) as StoreMessage);
    }
    return false;
  }
}
