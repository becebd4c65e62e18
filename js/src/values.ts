/**
 * What a state value may be, checked once where it enters the mirror.
 *
 * Values must survive JSON and Python unchanged, so only JSON values are allowed:
 * null, booleans, finite numbers (integers within +-(2**53-1)), strings, arrays
 * and plain objects with string keys, nested at most MAX_DEPTH levels. Checking and copying happen in one walk,
 * so the mirror never holds an object the page can still mutate. Mirrors the
 * rules of `pytonium_lab/_values.py`.
 */

export type StateValue =
  | null
  | boolean
  | number
  | string
  | StateValue[]
  | { [key: string]: StateValue };

const MAX_SAFE = 9007199254740991; // 2**53 - 1 (Number.MAX_SAFE_INTEGER)

/**
 * How many arrays/objects a value may nest (`[[1]]` is 2); the same limit as
 * `MAX_DEPTH` in `pytonium_lab/_values.py`, which says why 100.
 */
export const MAX_DEPTH = 100;
/**
 * The longest namespace or key, in characters (code points, as Python counts them):
 * the same limit as `MAX_NAME` in `pytonium_lab/_values.py`, which says why.
 */
export const MAX_NAME = 256;
const IDENT = /^[A-Za-z_$][\w$]*$/;
const hasOwn = Object.prototype.hasOwnProperty;

/** A short, readable description of any value, for error messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return "BigInt " + String(value) + "n";
  if (typeof value === "symbol") return "Symbol";
  if (typeof value === "function") return "function";
  if (value === null || typeof value !== "object") return String(value);
  if (Array.isArray(value)) return "array";
  const proto = Object.getPrototypeOf(value);
  const ctor = proto && proto.constructor;
  const name = ctor && typeof ctor.name === "string" ? ctor.name : "";
  return name && name !== "Object" ? name + " object" : "object";
}

/** Throw a TypeError unless `name` is a non-empty string of at most MAX_NAME characters. */
export function checkName(what: string, label: "namespace" | "key", name: unknown): void {
  if (typeof name !== "string" || name === "") {
    throw new TypeError(what + ": " + label + " must be a non-empty string, got " + describe(name));
  }
  if (name.length > MAX_NAME) {
    const length = characters(name);
    if (length > MAX_NAME) {
      throw new TypeError(
        what + ": " + label + " " + JSON.stringify(name.slice(0, 40)) + "... is " + length +
          " characters long; the limit is " + MAX_NAME,
      );
    }
  }
}

/** Characters (code points) in `text`: a surrogate pair is one, as in Python. */
function characters(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** Return a private copy of `value`, or throw a TypeError naming `namespace.key` and the path. */
export function cleanValue(namespace: string, key: string, value: unknown): StateValue {
  return walk(value, namespace + "." + key, []);
}

function fail(path: string, what: string): never {
  throw new TypeError(path + ": " + what + " is not a state value");
}

function isPlainProto(proto: object | null): boolean {
  if (proto === null || proto === Object.prototype) return true;
  // An Object.prototype of another realm (e.g. a frame): accept, but not a class.
  return (
    Object.getPrototypeOf(proto) === null &&
    typeof (proto as { constructor?: unknown }).constructor === "function" &&
    ((proto as { constructor: { name?: string } }).constructor.name === "Object")
  );
}

function walk(value: unknown, path: string, active: object[]): StateValue {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value as string | boolean;
    case "number":
      if (value !== value) fail(path, "NaN");
      if (value === Infinity || value === -Infinity) fail(path, String(value));
      if ((value as number) % 1 === 0 && ((value as number) > MAX_SAFE || (value as number) < -MAX_SAFE)) {
        throw new TypeError(
          path + ": " + String(value) + " is outside +-(2**53-1) and would not round-trip exactly",
        );
      }
      return value as number;
    case "undefined":
      return fail(path, "undefined");
    case "bigint":
      return fail(path, "BigInt");
    case "symbol":
      return fail(path, "Symbol");
    case "function":
      return fail(path, "function");
  }
  if (value === null) return null;
  const obj = value as object;
  if (active.indexOf(obj) >= 0) {
    throw new TypeError(path + ": the value contains itself (a cycle), which is not a state value");
  }
  if (active.length === MAX_DEPTH) {
    // `active` holds the arrays/objects around this one.
    throw new TypeError(shorten(path) + ": more than " + MAX_DEPTH + " levels of nested arrays/objects (the limit)");
  }
  const proto = Object.getPrototypeOf(obj);
  if (Array.isArray(obj)) {
    if (!Array.isArray(proto)) fail(path, describe(obj)); // an Array subclass
    active.push(obj);
    const out: StateValue[] = new Array(obj.length);
    for (let i = 0; i < obj.length; i++) {
      if (!(i in obj)) fail(path + "[" + i + "]", "an empty slot (hole)");
      out[i] = walk(obj[i], path + "[" + i + "]", active);
    }
    active.pop();
    return out;
  }
  if (!isPlainProto(proto)) fail(path, describe(obj));
  if (Object.getOwnPropertySymbols(obj).length > 0) fail(path, "an object with Symbol keys");
  active.push(obj);
  const out: { [key: string]: StateValue } = {};
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    put(out, k, walk((obj as Record<string, unknown>)[k], path + member(k), active));
  }
  active.pop();
  return out;
}

/** A place deep inside a value, cut to its start (`ns.key[0][0]...`). */
function shorten(path: string): string {
  return path.length <= 60 ? path : path.slice(0, 60) + "...";
}

function member(k: string): string {
  return IDENT.test(k) ? "." + k : "[" + JSON.stringify(k) + "]";
}

/** Set an own property, even one named "__proto__" (plain assignment would set the prototype). */
function put(out: { [key: string]: StateValue }, k: string, v: StateValue): void {
  if (k === "__proto__") {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  } else {
    out[k] = v;
  }
}

/** Copy a value already known to be clean (arrays and objects copied, scalars shared). */
export function copyValue(value: StateValue): StateValue {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const arr: StateValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) arr[i] = copyValue(value[i]);
    return arr;
  }
  const out: { [key: string]: StateValue } = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) put(out, keys[i], copyValue(value[keys[i]]));
  return out;
}

/** Deep equality of two clean values (key order of objects does not matter). */
export function equalValues(a: StateValue, b: StateValue): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  const arrA = Array.isArray(a);
  if (arrA !== Array.isArray(b)) return false;
  if (arrA) {
    const x = a as StateValue[];
    const y = b as StateValue[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!equalValues(x[i], y[i])) return false;
    return true;
  }
  const x = a as { [key: string]: StateValue };
  const y = b as { [key: string]: StateValue };
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (!hasOwn.call(y, k) || !equalValues(x[k], y[k])) return false;
  }
  return true;
}
