/**
 * What calls send to the store: the calls made in one task leave together after it
 * (one `call`, or one `calls` message for several), and `cancel` for a call given up on.
 */

import type { CallMsg, ViewMessage } from "./protocol";

export class CallSender {
  private queue: CallMsg[] = []; // the calls of this task: they leave together, after it

  constructor(
    private readonly viewId: string,
    private readonly send: (msg: ViewMessage) => void,
    /** Whether call `id` still waits for its answer (one settled before it left is not sent). */
    private readonly waiting: (id: number) => boolean,
  ) {}

  call(msg: CallMsg): void {
    this.queue.push(msg);
    if (this.queue.length === 1) Promise.resolve().then(() => this.flush());
  }

  /** Call `id` was given up on: tell the store, unless it is still queued (then it never leaves). */
  cancel(id: number): void {
    if (this.queue.some((m) => m.id === id)) return;
    this.send({ t: "cancel", view: this.viewId, id });
  }

  private flush(): void {
    const out = this.queue.filter((m) => this.waiting(m.id));
    this.queue = [];
    if (out.length === 1) this.send(out[0]);
    else if (out.length > 1) this.send({ t: "calls", view: this.viewId, calls: out });
  }
}
