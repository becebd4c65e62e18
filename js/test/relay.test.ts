import { describe, expect, it } from "vitest";
import { ModelMirror, mirrorOf } from "../src/relay";
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
      t: "snapshot", to: "view:x", seq: 2, rev: expect.any(Number), namespaces: ["a"], state: { a: { j: [1] } }, ack: 4,
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
    m.receive({ t: "snapshot", to: m.id, seq: 3, rev: 9, namespaces: ["a"], state: { a: { k: 5 } }, ack: 0 } as any);
    expect(m.snapshotFor("view:x")!.state).toEqual({ a: { k: 5 } });
    m.receive({ t: "batch", seq: 4, changes: [change("a", "k", 6)] } as any);
    expect(m.snapshotFor("view:x")!.seq).toBe(4);
  });

  it("catches up from a snapshot a view asked for, and keeps that view's ack", () => {
    const { m, toKernel } = mirror();
    m.load(boot);
    m.receive({ t: "batch", seq: 3, changes: [change("a", "k", 5)] } as any); // missed 1 and 2
    m.receive({ t: "snapshot", to: "view:v", seq: 3, rev: 2000, namespaces: ["a"], state: { a: { k: 7 } }, ack: 4 } as any);
    expect(toKernel).toHaveLength(1); // its own hello, before the view's snapshot came
    expect(m.snapshotFor("view:v")).toMatchObject({ seq: 3, rev: 2000, state: { a: { k: 7 } }, ack: 4 });
    // An older snapshot (seq 2 < 3) never rolls the mirror back.
    m.receive({ t: "snapshot", to: "view:w", seq: 2, rev: 1500, namespaces: ["a"], state: {}, ack: 0 } as any);
    expect(m.snapshotFor("view:v")!.state).toEqual({ a: { k: 7 } });
  });

  it("skips changes its snapshot already includes (rev at or below the snapshot's)", () => {
    const { m } = mirror();
    m.load({ ...boot, rev: 5000 });
    m.receive({ t: "batch", seq: 1, changes: [{ ns: "a", key: "k", value: 0, removed: false, origin: "python", rev: 4999 }] } as any);
    expect(m.snapshotFor("view:x")!.state).toEqual({ a: { k: 1 } });
  });
});

describe("one mirror per model, whatever proxy the host hands over", () => {
  it("a second display (a new proxy) starts from the live mirror, not the old _boot", () => {
    const listeners: Record<string, Array<(msg: unknown) => void>> = {};
    const values: Record<string, unknown> = { _uid: "uid-proxy-test", _boot: boot };
    const proxy = () => ({
      get: (name: string) => values[name],
      on: (name: string, fn: (...args: never[]) => void) => {
        listeners[name] = (listeners[name] || []).concat([fn as unknown as (msg: unknown) => void]);
      },
      send: () => {},
    });
    const first = mirrorOf(proxy());
    listeners["msg:custom"].forEach((fn) => fn({ t: "batch", seq: 1, changes: [change("a", "k", 42)] }));
    const second = mirrorOf(proxy());
    expect(second.mirror).toBe(first.mirror);
    expect(second.mirror.snapshotFor("view:x")!.state).toEqual({ a: { k: 42 } });
    first.forget();
    expect(mirrorOf(proxy()).mirror).not.toBe(first.mirror);
  });
});
