import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { checkName, cleanValue, copyValue, equalValues, MAX_DEPTH, MAX_NAME, type StateValue } from "../src/values";

/** `[[...[1]...]]`: `depth` arrays inside each other. */
function nested(depth: number): StateValue {
  let value: StateValue = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe("cleanValue", () => {
  it("accepts JSON values and returns a copy", () => {
    const value = { a: [1, 2.5, "s", true, null, { b: [] }], c: {} };
    const out = cleanValue("ns", "k", value);
    expect(out).toEqual(value);
    expect(out).not.toBe(value);
    expect((out as { a: unknown[] }).a).not.toBe(value.a);
  });

  it("accepts objects without a prototype and plain objects of another realm", () => {
    const bare = Object.create(null);
    bare.x = 1;
    expect(cleanValue("ns", "k", bare)).toEqual({ x: 1 });
    const foreign = runInNewContext("({ a: [1, { b: 2 }] })");
    expect(cleanValue("ns", "k", foreign)).toEqual({ a: [1, { b: 2 }] });
  });

  it("accepts shared (acyclic) references", () => {
    const shared = { x: 1 };
    expect(cleanValue("ns", "k", [shared, shared])).toEqual([{ x: 1 }, { x: 1 }]);
  });

  it("names odd keys in the path with JSON brackets", () => {
    expect(() => cleanValue("ns", "k", { "a b": [undefined] })).toThrow('ns.k["a b"][0]: undefined is not a state value');
  });

  it("rejects an Array subclass", () => {
    class List extends Array {}
    expect(() => cleanValue("ns", "k", List.from([1]))).toThrow(/^ns\.k: /);
  });

  it("accepts values nested up to MAX_DEPTH levels, refuses deeper ones naming the place and the limit", () => {
    expect(MAX_DEPTH).toBe(100);
    expect(cleanValue("ns", "k", nested(MAX_DEPTH))).toEqual(nested(MAX_DEPTH));
    for (const depth of [MAX_DEPTH + 1, 10000]) {
      let error: unknown;
      try {
        cleanValue("settings", "volume", nested(depth));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      const message = (error as TypeError).message;
      expect(message.startsWith("settings.volume[0][0]")).toBe(true);
      expect(message).toContain("more than 100 levels");
      expect(message.length).toBeLessThan(200);
    }
  });

  it("keeps a key named __proto__ as data, not as a prototype", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}}');
    const out = cleanValue("ns", "k", value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(["__proto__"]);
    expect((out as { polluted?: boolean }).polluted).toBeUndefined();
    const copy = copyValue(out as StateValue) as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });
});

describe("checkName", () => {
  it("wants a non-empty string", () => {
    expect(() => checkName("f", "namespace", "ok")).not.toThrow();
    expect(() => checkName("f", "namespace", "")).toThrow(TypeError);
    expect(() => checkName("f", "key", 1n)).toThrow("f: key must be a non-empty string, got BigInt 1n");
  });

  it("takes names of up to MAX_NAME characters, as Python counts them, and refuses longer ones naming them cut", () => {
    expect(MAX_NAME).toBe(256);
    expect(() => checkName("f", "namespace", "n".repeat(256))).not.toThrow();
    expect(() => checkName("f", "key", "\u{1F600}".repeat(256))).not.toThrow(); // 512 UTF-16 units, 256 characters
    expect(() => checkName("f", "namespace", "n".repeat(257))).toThrow(
      'f: namespace "' + "n".repeat(40) + '"... is 257 characters long; the limit is 256',
    );
    expect(() => checkName("f", "key", "\u{1F600}".repeat(257))).toThrow("is 257 characters long");
    let message = "";
    try {
      checkName("setState", "key", "k".repeat(10000));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("setState: key \"kkkk");
    expect(message).toContain("is 10000 characters long; the limit is 256");
    expect(message.length).toBeLessThan(200);
  });
});

describe("copyValue and equalValues", () => {
  it("copies deeply", () => {
    const v: StateValue = { a: [{ b: 1 }] };
    const c = copyValue(v) as { a: Array<{ b: number }> };
    c.a[0].b = 2;
    expect(v).toEqual({ a: [{ b: 1 }] });
  });

  it("compares deeply, ignoring key order", () => {
    expect(equalValues({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(equalValues({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(equalValues({ a: 1, b: 2 }, { a: 1, c: 2 })).toBe(false);
    expect(equalValues([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(equalValues([1], [1, 2])).toBe(false);
    expect(equalValues(1, true)).toBe(false);
    expect(equalValues(null, {})).toBe(false);
    expect(equalValues("a", "a")).toBe(true);
  });
});
