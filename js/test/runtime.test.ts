import { afterEach, describe, expect, it, vi } from "vitest";
import { makeViewId } from "../src/runtime";
import { change, listen, ME, removeListeners, setup, snapshot, tick } from "./helpers";

afterEach(removeListeners);

describe("setState / getState", () => {
  it("getState sees a write at once, and the write is sent with a counting id", () => {
    const { appState, sent } = setup();
    appState.setState("user", "name", "Bob");
    expect(appState.getState("user", "name")).toBe("Bob");
    appState.setState("user", "score", 42);
    expect(sent).toEqual([
      { t: "hello", view: ME },
      { t: "set", view: ME, ns: "user", key: "name", value: "Bob", id: 1 },
      { t: "set", view: ME, ns: "user", key: "score", value: 42, id: 2 },
    ]);
  });

  it("a missing key reads as null", () => {
    const { appState } = setup();
    expect(appState.getState("user", "nobody")).toBeNull();
  });

  it("the mirror holds copies: neither the written object nor a read one can change it", () => {
    const { appState } = setup();
    const value = { list: [1, 2], inner: { a: 1 } };
    appState.setState("ns", "k", value);
    value.list.push(3);
    const read = appState.getState("ns", "k") as { list: number[]; inner: { a: number } };
    read.inner.a = 99;
    expect(appState.getState("ns", "k")).toEqual({ list: [1, 2], inner: { a: 1 } });
  });

  it("keeps booleans, arrays and 2**53-1 exactly, on the wire and in the mirror", () => {
    const { appState, sent, push } = setup();
    appState.setState("t", "flag", true);
    appState.setState("t", "list", [true, false, [1]]);
    appState.setState("t", "big", 2 ** 53 - 1);
    appState.setState("t", "neg", -(2 ** 53 - 1));
    expect(appState.getState("t", "flag")).toBe(true);
    expect(Array.isArray(appState.getState("t", "list"))).toBe(true);
    expect(appState.getState("t", "list")).toEqual([true, false, [1]]);
    expect(appState.getState("t", "big")).toBe(9007199254740991);
    expect(appState.getState("t", "neg")).toBe(-9007199254740991);
    const wire = sent.filter((m) => m.t === "set").map((m) => (m as { value: unknown }).value);
    expect(wire).toEqual([true, [true, false, [1]], 9007199254740991, -9007199254740991]);
    expect(typeof wire[0]).toBe("boolean");
    push(snapshot(1, { p: { flag: false, list: [0, [true]], big: 9007199254740991 } }));
    expect(appState.getState("p", "flag")).toBe(false);
    expect(appState.getState("p", "list")).toEqual([0, [true]]);
    expect(appState.getState("p", "big")).toBe(9007199254740991);
  });

  it("a large write goes out as chunks that rebuild the set message", () => {
    const { appState, sent } = setup();
    const big = "x".repeat(5 * 1024 * 1024);
    appState.setState("files", "blob", big);
    const chunks = sent.filter((m) => m.t === "chunk") as Array<{ cid: string; i: number; n: number; data: string }>;
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => c.cid === chunks[0].cid && c.n === chunks.length)).toBe(true);
    expect(chunks[0].cid.indexOf(ME)).toBe(0);
    const rebuilt = JSON.parse(chunks.map((c) => c.data).join(""));
    expect(rebuilt).toEqual({ t: "set", view: ME, ns: "files", key: "blob", value: big, id: 1 });
  });
});

describe("events", () => {
  it("reach listeners on window and on document, with the full detail", () => {
    const { appState } = setup();
    const onWindow = listen("evWin");
    const onDocument = listen("evWin", document);
    appState.registerForStateUpdates("evWin", ["user"], true, true);
    appState.setState("user", "name", "Ann");
    const detail = { namespace: "user", key: "name", value: "Ann", origin: "javascript", removed: false };
    expect(onWindow).toEqual([detail]);
    expect(onDocument).toEqual([detail]);
  });

  it("changes Python's side made (restore, persist, a linked trait) count as fromPython; other pages' as fromJavascript", () => {
    const { appState, push } = setup();
    push(snapshot(1, {}));
    const seen = listen("evPy");
    appState.registerForStateUpdates("evPy", ["s"], false, true);
    for (const origin of ["python", "restore", "persist", "trait:IntSlider.value", "resync", "view:other"]) {
      push({ t: "batch", seq: seen.length + 2, changes: [change("s", "k", origin, origin)] });
    }
    expect(seen.map((d) => [d.value, d.origin])).toEqual([
      ["python", "python"], ["restore", "python"], ["persist", "python"],
      ["trait:IntSlider.value", "python"], ["resync", "python"],
    ]);
  });

  it("only for the registered namespaces", () => {
    const { appState } = setup();
    const seen = listen("evNs");
    appState.registerForStateUpdates("evNs", ["a"], true, true);
    appState.setState("b", "k", 1);
    appState.setState("a", "k", 2);
    expect(seen.map((d) => d.namespace)).toEqual(["a"]);
  });

  it("fromJavascript and fromPython filter by origin", () => {
    const { appState, push } = setup();
    push(snapshot(1, {}));
    const js = listen("evJs");
    const py = listen("evPy");
    appState.registerForStateUpdates("evJs", ["s"], true, false);
    appState.registerForStateUpdates("evPy", ["s"], false, true);
    appState.setState("s", "mine", 1);
    push({ t: "batch", seq: 2, changes: [change("s", "py", 2, "python"), change("s", "other", 3, "view:other")] });
    expect(js.map((d) => [d.key, d.origin])).toEqual([
      ["mine", "javascript"],
      ["other", "javascript"],
    ]);
    expect(py.map((d) => [d.key, d.origin])).toEqual([["py", "python"]]);
  });

  it("registering the same thing twice does not double events; each unregister counts", () => {
    const { appState } = setup();
    const seen = listen("evDup");
    const off1 = appState.registerForStateUpdates("evDup", ["a", "b"], true, true);
    const off2 = appState.registerForStateUpdates("evDup", ["b", "a"], true, true);
    appState.setState("a", "k", 1);
    expect(seen).toHaveLength(1);
    off1();
    off1(); // a second call of the same function does nothing more
    appState.setState("a", "k", 2);
    expect(seen).toHaveLength(2);
    off2();
    appState.setState("a", "k", 3);
    expect(seen).toHaveLength(2);
  });

  it("one event per name even when registrations with other flags overlap", () => {
    const { appState } = setup();
    const seen = listen("evOverlap");
    appState.registerForStateUpdates("evOverlap", ["a"], true, false);
    appState.registerForStateUpdates("evOverlap", ["a"], true, true);
    appState.setState("a", "k", 1);
    expect(seen).toHaveLength(1);
  });

  it("unregister stops the events", () => {
    const { appState } = setup();
    const seen = listen("evOff");
    const off = appState.registerForStateUpdates("evOff", ["a"], true, true);
    appState.setState("a", "k", 1);
    off();
    appState.setState("a", "k", 2);
    expect(seen.map((d) => d.value)).toEqual([1]);
  });

  it("a listener that mutates detail.value does not change the mirror", () => {
    const { appState } = setup();
    appState.registerForStateUpdates("evMut", ["a"], true, true);
    const fn = (e: Event) => ((e as CustomEvent).detail.value as number[]).push(99);
    window.addEventListener("evMut", fn);
    appState.setState("a", "k", [1]);
    window.removeEventListener("evMut", fn);
    expect(appState.getState("a", "k")).toEqual([1]);
  });
});

describe("removeState", () => {
  it("notifies with removed true and value null, and sends remove", () => {
    const { appState, sent } = setup();
    const seen = listen("evRm");
    appState.registerForStateUpdates("evRm", ["user"], true, true);
    appState.setState("user", "score", 42);
    appState.removeState("user", "score");
    expect(appState.getState("user", "score")).toBeNull();
    expect(seen[1]).toEqual({ namespace: "user", key: "score", value: null, origin: "javascript", removed: true });
    expect(sent[sent.length - 1]).toEqual({ t: "remove", view: ME, ns: "user", key: "score", id: 2 });
  });

  it("of a key the mirror lacks still tells the store, but fires nothing", () => {
    const { appState, sent } = setup();
    const seen = listen("evRm2");
    appState.registerForStateUpdates("evRm2", ["user"], true, true);
    appState.removeState("user", "ghost");
    expect(seen).toHaveLength(0);
    expect(sent[sent.length - 1]).toMatchObject({ t: "remove", ns: "user", key: "ghost" });
  });

  it("a removal from Python fires removed events", () => {
    const { appState, push } = setup();
    push(snapshot(1, { user: { score: 1 } }));
    const seen = listen("evRm3");
    appState.registerForStateUpdates("evRm3", ["user"], false, true);
    push({ t: "batch", seq: 2, changes: [change("user", "score", null, "python", true)] });
    expect(appState.getState("user", "score")).toBeNull();
    expect(seen).toEqual([{ namespace: "user", key: "score", value: null, origin: "python", removed: true }]);
  });
});

describe("echoes of our own writes", () => {
  it("an echo of the value the mirror holds fires no second event", () => {
    const { appState, push } = setup();
    push(snapshot(1, {}));
    const seen = listen("evEcho");
    appState.registerForStateUpdates("evEcho", ["a"], true, true);
    appState.setState("a", "k", { x: [1, 2] });
    appState.removeState("a", "gone");
    push({
      t: "batch",
      seq: 2,
      changes: [change("a", "k", { x: [1, 2] }, ME), change("a", "gone", null, ME, true)],
    });
    expect(seen).toHaveLength(1);
    expect(appState.getState("a", "k")).toEqual({ x: [1, 2] });
  });

  it("changes older than our latest write to a key are ignored until an ack covers it", () => {
    const { appState, push } = setup();
    push(snapshot(1, {}));
    const seen = listen("evEcho2");
    appState.registerForStateUpdates("evEcho2", ["a"], true, true);
    appState.setState("a", "k", 1);
    appState.setState("a", "k", 2);
    // The echo of write 1 and a Python write the store ordered before write 2.
    push({ t: "batch", seq: 2, changes: [change("a", "k", 1, ME)], acks: { [ME]: 1 } });
    push({ t: "batch", seq: 3, changes: [change("a", "k", 9, "python")] });
    expect(appState.getState("a", "k")).toBe(2); // no jump back while dragging
    push({ t: "batch", seq: 4, changes: [change("a", "k", 2, ME)], acks: { [ME]: 2 } });
    expect(appState.getState("a", "k")).toBe(2);
    push({ t: "batch", seq: 5, changes: [change("a", "k", 3, "python")] });
    expect(appState.getState("a", "k")).toBe(3);
    expect(seen.map((d) => [d.value, d.origin])).toEqual([
      [1, "javascript"],
      [2, "javascript"],
      [3, "python"],
    ]);
  });

  it("an ack applies the change that its batch carries for the key, ours or later", () => {
    const { appState, push } = setup();
    push(snapshot(1, {}));
    const seen = listen("evEcho3");
    appState.registerForStateUpdates("evEcho3", ["a"], true, true);
    appState.setState("a", "k", 1);
    push({ t: "batch", seq: 2, changes: [change("a", "k", 1, "view:other")], acks: { [ME]: 1 } });
    expect(seen).toHaveLength(2); // another view's write after ours fires, even with the same value
    appState.setState("a", "k", 5);
    push({ t: "batch", seq: 3, changes: [change("a", "k", 7, "python")], acks: { [ME]: 2 } });
    expect(appState.getState("a", "k")).toBe(7);
  });

  it("a resync snapshot keeps local writes it does not include yet", () => {
    const { appState, push } = setup();
    push(snapshot(1, { a: { k: 0, j: 0 } }));
    appState.setState("a", "k", 1); // write 1: in the snapshot below
    appState.setState("a", "j", 2); // write 2: not yet
    push(snapshot(1, { a: { k: 1, j: 0 } }, { ack: 1 }));
    expect(appState.getState("a", "j")).toBe(2);
    push({ t: "batch", seq: 2, changes: [change("a", "j", 2, ME)], acks: { [ME]: 2 } });
    push({ t: "batch", seq: 3, changes: [change("a", "j", 4, "python")] });
    expect(appState.getState("a", "j")).toBe(4);
  });
});

describe("snapshots, batches and resync", () => {
  it("a snapshot for another view is ignored", () => {
    const { appState, push } = setup();
    push(snapshot(1, { a: { k: 1 } }, { to: "view:other" }));
    expect(appState.getState("a", "k")).toBeNull();
    expect((window as { PytoniumReady?: boolean }).PytoniumReady).toBeUndefined();
  });

  it("batches apply in order; a gap sends one hello, and the resync snapshot fires changed keys", () => {
    const { appState, push, sent } = setup();
    push(snapshot(5, { a: { same: 1, changes: 1, goes: 1 } }));
    const seen = listen("evGap");
    appState.registerForStateUpdates("evGap", ["a"], false, true);
    push({ t: "batch", seq: 6, changes: [change("a", "changes", 2)] });
    expect(appState.getState("a", "changes")).toBe(2);
    expect(seen).toHaveLength(1);
    const hellos = () => sent.filter((m) => m.t === "hello").length;
    expect(hellos()).toBe(1);
    push({ t: "batch", seq: 8, changes: [change("a", "changes", 8)] }); // 7 was lost
    expect(hellos()).toBe(2);
    expect(appState.getState("a", "changes")).toBe(2);
    push({ t: "batch", seq: 9, changes: [change("a", "changes", 9)] }); // ignored, no second hello
    expect(hellos()).toBe(2);
    expect(appState.getState("a", "changes")).toBe(2);
    push(snapshot(9, { a: { same: 1, changes: 9, fresh: true } }));
    expect(seen.slice(1)).toEqual([
      { namespace: "a", key: "changes", value: 9, origin: "snapshot", removed: false },
      { namespace: "a", key: "fresh", value: true, origin: "snapshot", removed: false },
      { namespace: "a", key: "goes", value: null, origin: "snapshot", removed: true },
    ]);
    expect(appState.getState("a", "goes")).toBeNull();
    push({ t: "batch", seq: 10, changes: [change("a", "same", 10)] });
    expect(appState.getState("a", "same")).toBe(10);
  });

  it("batches before the first snapshot are ignored without more hellos", () => {
    const { appState, push, sent } = setup();
    push({ t: "batch", seq: 3, changes: [change("a", "k", 1)] });
    push({ t: "batch", seq: 4, changes: [change("a", "k", 2)] });
    expect(appState.getState("a", "k")).toBeNull();
    expect(sent.filter((m) => m.t === "hello")).toHaveLength(1);
  });

  it("PytoniumReady is set and dispatched once, at the first snapshot", () => {
    const { push } = setup();
    let fired = 0;
    const onReady = () => fired++;
    window.addEventListener("PytoniumReady", onReady);
    try {
      expect((window as { PytoniumReady?: boolean }).PytoniumReady).toBeUndefined();
      push(snapshot(1, {}));
      expect((window as { PytoniumReady?: boolean }).PytoniumReady).toBe(true);
      push(snapshot(7, {}));
      expect(fired).toBe(1);
    } finally {
      window.removeEventListener("PytoniumReady", onReady);
    }
  });

  it("an error for this view warns and says hello; one for another view is ignored", () => {
    const warn = vi.fn();
    const { push, sent } = setup({ warn });
    push(snapshot(1, {}));
    push({ t: "error", to: "view:other", ns: "a", key: "k", id: 1, message: "no" });
    expect(warn).not.toHaveBeenCalled();
    push({ t: "error", to: ME, ns: "a", key: "k", id: 3, message: "too big" });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/a\.k.*too big/);
    expect(sent[sent.length - 1]).toEqual({ t: "hello", view: ME });
  });

  it("a refused write stops being pending, so a snapshot without its ack still drops it", () => {
    const { appState, push } = setup({ warn: () => {} });
    push(snapshot(1, { a: { k: 1 } }));
    appState.setState("a", "k", 2); // write 1, refused by the store
    push({ t: "error", to: ME, ns: "a", key: "k", id: 1, message: "no" });
    push(snapshot(1, { a: { k: 1 } }, { ack: 0 })); // e.g. from the model's mirror, before the ack
    expect(appState.getState("a", "k")).toBe(1);
  });

  it("messages of unknown shape are ignored", () => {
    const { appState, push } = setup();
    push(null as unknown as Record<string, unknown>);
    push({ t: "mystery" });
    expect(appState.getState("a", "k")).toBeNull();
  });

  it("a transport reconnect says hello again", () => {
    const { reopen, sent } = setup();
    reopen();
    expect(sent).toEqual([
      { t: "hello", view: ME },
      { t: "hello", view: ME },
    ]);
  });
});

describe("replay at registration", () => {
  it("delivers current values of the namespaces after the current task (Settings Panel)", async () => {
    const { appState, push } = setup();
    push(snapshot(1, { settings: { volume: 75, theme: "dark" }, other: { x: 1 } }));
    appState.registerForStateUpdates("settingsChanged", ["settings"], true, true);
    const seen = listen("settingsChanged"); // added after the call, as in the spec
    expect(seen).toHaveLength(0);
    await tick();
    expect(seen).toEqual([
      { namespace: "settings", key: "volume", value: 75, origin: "snapshot", removed: false },
      { namespace: "settings", key: "theme", value: "dark", origin: "snapshot", removed: false },
    ]);
  });

  it("not with fromPython false, not after unregister, not twice for a duplicate", async () => {
    const { appState, push } = setup();
    push(snapshot(1, { s: { v: 1 } }));
    const js = listen("evJsOnly");
    const gone = listen("evGone");
    const dup = listen("evDupReplay");
    appState.registerForStateUpdates("evJsOnly", ["s"], true, false);
    appState.registerForStateUpdates("evGone", ["s"], true, true)();
    appState.registerForStateUpdates("evDupReplay", ["s"], true, true);
    appState.registerForStateUpdates("evDupReplay", ["s"], true, true);
    await tick();
    expect(js).toHaveLength(0);
    expect(gone).toHaveLength(0);
    expect(dup).toHaveLength(1);
  });

  it("a registration before the first snapshot gets the snapshot's values as events", async () => {
    const { appState, push } = setup();
    const seen = listen("evEarly");
    appState.registerForStateUpdates("evEarly", ["s"], false, true);
    await tick();
    push(snapshot(1, { s: { v: 1 } }));
    expect(seen).toEqual([{ namespace: "s", key: "v", value: 1, origin: "snapshot", removed: false }]);
  });
});

describe("namespace filter", () => {
  it("writes outside the view's namespaces throw a TypeError naming the namespace and send nothing", () => {
    const { appState, push, sent } = setup();
    push(snapshot(1, { a: { k: 1 } }, { namespaces: ["a"] }));
    const before = sent.length;
    expect(() => appState.setState("secret", "k", 1)).toThrow(TypeError);
    expect(() => appState.setState("secret", "k", 1)).toThrow(/"secret"/);
    expect(() => appState.removeState("secret", "k")).toThrow(/"secret"/);
    expect(sent.length).toBe(before);
    expect(appState.getState("secret", "k")).toBeNull();
    appState.setState("a", "k", 2);
    expect(appState.getState("a", "k")).toBe(2);
  });

  it("null means every namespace", () => {
    const { appState, push } = setup();
    push(snapshot(1, {}, { namespaces: null }));
    expect(() => appState.setState("anything", "k", 1)).not.toThrow();
  });
});

describe("bad input", () => {
  const bad: Array<[string, () => unknown, RegExp]> = [
    ["undefined", () => undefined, /^settings\.volume: undefined is not a state value$/],
    ["a function", () => () => 1, /^settings\.volume: function/],
    ["a symbol", () => Symbol("s"), /^settings\.volume: Symbol/],
    ["a BigInt deep inside", () => [0, 1, { x: BigInt(1) }], /^settings\.volume\[2\]\.x: BigInt is not a state value$/],
    ["NaN", () => ({ a: NaN }), /^settings\.volume\.a: NaN/],
    ["Infinity", () => [Infinity], /^settings\.volume\[0\]: Infinity/],
    ["-Infinity", () => -Infinity, /^settings\.volume: -Infinity/],
    ["2**53", () => 2 ** 53, /^settings\.volume: 9007199254740992 is outside/],
    ["-(2**53)", () => ({ n: -(2 ** 53) }), /^settings\.volume\.n: -9007199254740992 is outside/],
    ["a Map", () => new Map(), /^settings\.volume: Map object/],
    ["a Set", () => ({ s: new Set() }), /^settings\.volume\.s: Set object/],
    ["a Date", () => new Date(), /^settings\.volume: Date object/],
    ["a RegExp", () => /x/, /^settings\.volume: RegExp object/],
    ["a class instance", () => new (class Point {})(), /^settings\.volume: Point object/],
    ["a typed array", () => new Uint8Array(2), /^settings\.volume: Uint8Array object/],
    ["a boxed number", () => new Number(1), /^settings\.volume: Number object/],
    ["a cycle", () => { const o: Record<string, unknown> = {}; o.self = { o }; return o; }, /^settings\.volume\.self\.o: .*cycle/],
    ["a hole", () => [1, , 3], /^settings\.volume\[1\]: an empty slot/],
    ["a symbol key", () => ({ [Symbol("k")]: 1 }), /^settings\.volume: an object with Symbol keys/],
  ];

  for (const [name, make, message] of bad) {
    it(`setState rejects ${name} with a TypeError, changing and sending nothing`, () => {
      const { appState, sent } = setup();
      const seen = listen("evBad");
      appState.registerForStateUpdates("evBad", ["settings"], true, true);
      appState.setState("settings", "volume", 5);
      const before = sent.length;
      let error: unknown;
      try {
        appState.setState("settings", "volume", make());
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(message);
      expect(appState.getState("settings", "volume")).toBe(5);
      expect(sent.length).toBe(before);
      expect(seen).toHaveLength(1);
    });
  }

  const badNames: Array<[string, unknown, unknown, RegExp]> = [
    ["a number namespace", 42, "k", /namespace must be a non-empty string, got 42/],
    ["an empty namespace", "", "k", /namespace must be a non-empty string, got ""/],
    ["a null key", "ns", null, /key must be a non-empty string, got null/],
    ["an empty key", "ns", "", /key must be a non-empty string, got ""/],
    ["an object key", "ns", {}, /key must be a non-empty string, got object/],
    ["a 257-character namespace", "n".repeat(257), "k", /namespace "n{40}"\.\.\. is 257 characters long; the limit is 256$/],
    ["a 10,000-character key", "ns", "k".repeat(10000), /key "k{40}"\.\.\. is 10000 characters long; the limit is 256$/],
  ];
  for (const [name, ns, key, message] of badNames) {
    it(`setState, getState and removeState reject ${name}`, () => {
      const { appState, sent } = setup();
      const before = sent.length;
      const a = appState as unknown as Record<string, (...args: unknown[]) => unknown>;
      expect(() => a.setState(ns, key, 1)).toThrow(TypeError);
      expect(() => a.setState(ns, key, 1)).toThrow(new RegExp("^setState: " + message.source));
      expect(() => a.getState(ns, key)).toThrow(new RegExp("^getState: " + message.source));
      expect(() => a.removeState(ns, key)).toThrow(new RegExp("^removeState: " + message.source));
      expect(sent.length).toBe(before);
    });
  }

  const badRegistrations: Array<[string, unknown[], RegExp]> = [
    ["a missing event name", [undefined, ["a"], true, true], /eventName must be a non-empty string, got undefined/],
    ["an empty event name", ["", ["a"], true, true], /eventName/],
    ["a string for namespaces", ["ev", "a", true, true], /namespaces must be a non-empty array of strings, got "a"/],
    ["no namespaces", ["ev", [], true, true], /namespaces must be a non-empty array/],
    ["a bad namespace in the list", ["ev", ["a", 3], true, true], /namespace must be a non-empty string, got 3/],
    ["a too long namespace in the list", ["ev", ["a", "n".repeat(300)], true, true], /is 300 characters long/],
    ["non-boolean flags", ["ev", ["a"], 1, "yes"], /must be booleans, got 1 and "yes"/],
  ];
  for (const [name, args, message] of badRegistrations) {
    it(`registerForStateUpdates rejects ${name}`, () => {
      const { appState } = setup();
      const register = appState.registerForStateUpdates as unknown as (...a: unknown[]) => unknown;
      expect(() => register(...args)).toThrow(TypeError);
      expect(() => register(...args)).toThrow(message);
    });
  }
});

describe("view id", () => {
  it("is view: plus up to 32 letters or digits, new each time", () => {
    const a = makeViewId();
    expect(a).toMatch(/^view:[A-Za-z0-9]{1,32}$/);
    expect(makeViewId()).not.toBe(a);
  });
});

describe("a disconnected view (the host posted {t: 'disconnected'})", () => {
  it("refuses setState/removeState: a console error naming namespace.key, a thrown Error, the mirror unchanged", () => {
    const errors: string[] = [];
    const { appState, sent, push } = setup({ error: (m) => errors.push(m) });
    push(snapshot(1, { demo: { count: 2, note: "x" } }));
    const seen = listen("demoChanged");
    appState.registerForStateUpdates("demoChanged", ["demo"], true, true);
    expect(appState.disconnected).toBe(false);
    const heard: string[] = [];
    window.addEventListener("PytoniumDisconnected", () => heard.push("gone"), { once: true });
    push({ t: "disconnected" });
    expect(appState.disconnected).toBe(true);
    expect(heard).toEqual(["gone"]);
    const before = sent.length;
    expect(() => appState.setState("demo", "count", 3)).toThrowError(/setState\(demo\.count\) refused: this view is disconnected/);
    expect(() => appState.removeState("demo", "note")).toThrowError(/removeState\(demo\.note\) refused: this view is disconnected/);
    expect(errors.length).toBe(2);
    expect(errors[0]).toContain("demo.count");
    expect(errors[0]).toContain("re-run the cell");
    expect(errors[1]).toContain("demo.note");
    expect(sent.length).toBe(before);
    expect(appState.getState("demo", "count")).toBe(2);
    expect(appState.getState("demo", "note")).toBe("x");
    expect(seen.filter((e) => e.origin === "javascript")).toEqual([]);
  });

  it("bad arguments are still a TypeError first; the reason the host gave is in the message", () => {
    const errors: string[] = [];
    const { appState, push } = setup({ error: (m) => errors.push(m) });
    push({ t: "disconnected", reason: "the window closed" });
    expect(() => appState.setState("", "k", 1)).toThrowError(TypeError);
    expect(() => appState.setState("a", "k", 1)).toThrowError(/a\.k\) refused: this view is disconnected from its store \(the window closed\)/);
    expect(errors.length).toBe(1);
  });

  it("the default reporter is console.error; a second disconnected changes nothing", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const { appState, push } = setup();
    push({ t: "disconnected" });
    push({ t: "disconnected", reason: "other" });
    expect(() => appState.setState("a", "k", 1)).toThrow();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(String(spy.mock.calls[0][0])).toContain("the kernel restarted or the widget was closed");
    spy.mockRestore();
  });
});

describe("served pages (a classroom: writes have the origin client:<id>)", () => {
  it("another client's write counts as JavaScript's, and the page's own echo fires nothing", () => {
    const { appState, push } = setup({ origin: "client:me1" });
    appState.registerForStateUpdates("fromJs", ["poll"], true, false);
    appState.registerForStateUpdates("fromPy", ["poll"], false, true);
    const js = listen("fromJs", document);
    const py = listen("fromPy", document);
    push(snapshot(1, {}));
    appState.setState("poll", "mine", 1); // fires one javascript event, at once
    push({ t: "batch", seq: 2, changes: [change("poll", "mine", 1, "client:me1")], acks: { [ME]: 1 } });
    push({ t: "batch", seq: 3, changes: [change("poll", "other", 2, "client:you2")] });
    expect(js.map((d) => [d.key, d.origin])).toEqual([
      ["mine", "javascript"],
      ["other", "javascript"],
    ]);
    expect(py).toEqual([]);
  });

  it("a refused write dispatches PytoniumWriteRefused on window with what was refused", () => {
    const { appState, push } = setup({ warn: () => {} });
    push(snapshot(1, { a: { k: 1 } }));
    const seen: unknown[] = [];
    const on = (e: Event) => seen.push((e as CustomEvent).detail);
    window.addEventListener("PytoniumWriteRefused", on);
    try {
      appState.setState("a", "k", 2);
      push({ t: "error", to: ME, ns: "a", key: "k", id: 1, message: "a is read-only" });
      expect(seen).toEqual([{ namespace: "a", key: "k", id: 1, message: "a is read-only" }]);
    } finally {
      window.removeEventListener("PytoniumWriteRefused", on);
    }
  });
});
