/**
 * The Python functions bound to `Pytonium`: the list the page was served with until
 * the store sends another, and the members (`Pytonium.name`, `Pytonium.object.name`)
 * made from it, which pytoniumobject.ts serves.
 */

import type { BoundFunction } from "./protocol";
import type { StateValue } from "./values";

/** Start the call of `object.name` (`object` "": bound without one). */
export type Invoke = (object: string, name: string, args: unknown[]) => Promise<StateValue>;

/** How the page writes the function: `object.name`, or `name`. */
export function pathOf(object: string, name: string): string {
  return object ? object + "." + name : name;
}

export class BoundFunctions {
  private bound: BoundFunction[] = [];
  private members: { [prop: string]: unknown } = {};
  private readonly warned: { [prop: string]: boolean } = {};

  constructor(
    private readonly invoke: Invoke,
    private readonly warn: (message: string) => void,
  ) {}

  /** Take a new list: the members are made afresh, so an unbound name disappears. */
  learn(functions: BoundFunction[]): void {
    this.bound = Array.isArray(functions) ? functions.slice() : [];
    const made: { [prop: string]: unknown } = {};
    for (let i = 0; i < this.bound.length; i++) {
      const b = this.bound[i];
      if (!b.object) {
        made[b.name] = this.caller("", b.name);
      } else {
        const obj = (made[b.object] as { [name: string]: unknown }) || (made[b.object] = {});
        obj[b.name] = this.caller(b.object, b.name);
      }
    }
    this.members = made;
  }

  find(object: string, name: string): BoundFunction | undefined {
    const bound = this.bound;
    for (let i = 0; i < bound.length; i++) if (bound[i].object === object && bound[i].name === name) return bound[i];
    return undefined;
  }

  /** The bound names, for messages about a name that is not one of them. */
  known(): string {
    return this.bound.map((b) => pathOf(b.object, b.name)).join(", ") || "none";
  }

  /** `Pytonium[prop]`: a bound function or object, else undefined with one warning per name. */
  member(prop: string): unknown {
    if (this.has(prop)) return this.members[prop];
    if (!this.warned[prop]) {
      this.warned[prop] = true;
      this.warn(
        "Pytonium." + prop + " is undefined: no Python function or object of that name is bound " +
          "(bound: " + this.known() + "; bind one with bind_function_to_javascript)",
      );
    }
    return undefined;
  }

  has(prop: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.members, prop);
  }

  private caller(object: string, name: string): (...args: unknown[]) => Promise<StateValue> {
    const invoke = this.invoke;
    return function (...args: unknown[]) {
      return invoke(object, name, args);
    };
  }
}
