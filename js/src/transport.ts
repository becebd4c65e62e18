/** What the runtime needs from a way of talking to the store. */

import type { Frame, StoreMessage } from "./protocol";

export interface TransportHandlers {
  /** A message from the store arrived. */
  message(msg: StoreMessage): void;
  /** The channel is (again) open: the runtime answers with `hello`. */
  open(): void;
  /** The channel closed (it may reopen): what was on its way is lost, so calls in flight fail. */
  closed?(): void;
}

export interface Transport {
  /** Start delivering; call `open` on every (re)connect, possibly before returning. */
  connect(handlers: TransportHandlers): void;
  /** Send one frame (the object and its JSON text; use whichever the channel carries). */
  send(frame: Frame): void;
}
