import { describe, expect, it } from "vitest";
import { ModelMirror } from "../src/relay";
import { change } from "./helpers";

const boot = { t: "snapshot", to: null, seq: 0, rev: 3, namespaces: ["a"], state: { a: { k: 1 } }, ack: 0 } as any;

function mirror() {
  const toKernel: unknown[] = [];
  const m = new ModelMirror((msg) => toKernel.push(msg));
  return { m, toKernel };
}

describe("the model's own mirror", () => {
  it("answers a view from the boot snapshot and the batches after it", () => {
    const { m, toKernel } = mirror();
    expect(m.snapshotFor("view:x")).toBeNull(); // nothing loaded yet: the kernel answers
    m.load(boot);
    m.receive({ t: "batch", seq: 1, changes: [change("a", "k", 2), change("a", "j", [1])], acks: { "view:x": 4 } } as any);
    m.receive({ t: "batch", seq: 2, changes: [change("a", "k", null, "python", true)] } as any);
    expect(m.snapshotFor("view:x")).toEqual({
      t: "snapshot", to: "view:x", seq: 2, rev: 3, namespaces: ["a"], state: { a: { j: [1] } }, ack: 4,
    });
    expect(m.snapshotFor("view:y")!.ack).toBe(0);
    expect(toKernel).toEqual([]);
  });

  it("does not share objects with the boot snapshot it was given", () => {
    const { m } = mirror();
    const given = JSON.parse(JSON.stringify(boot));
    m.load(given);
    m.receive({ t: "batch", seq: 1, changes: [change("a", "k", 9)] } as any);
    expect(given.state.a.k).toBe(1);
  });

  it("on a gap, asks the kernel under its own id and sends views there until the answer", () => {
    const { m, toKernel } = mirror();
    m.load(boot);
    m.receive({ t: "batch", seq: 3, changes: [change("a", "k", 5)] } as any);
    expect(toKernel).toEqual([{ t: "hello", view: m.id }]);
    expect(m.snapshotFor("view:x")).toBeNull();
    m.receive({ t: "snapshot", to: "view:other", seq: 3, rev: 9, namespaces: null, state: {} } as any);
    expect(m.snapshotFor("view:x")).toBeNull(); // not ours
    m.receive({ t: "snapshot", to: m.id, seq: 3, rev: 9, namespaces: ["a"], state: { a: { k: 5 } }, ack: 0 } as any);
    expect(m.snapshotFor("view:x")!.state).toEqual({ a: { k: 5 } });
    m.receive({ t: "batch", seq: 4, changes: [change("a", "k", 6)] } as any);
    expect(m.snapshotFor("view:x")!.seq).toBe(4);
  });
});
