/**
 * `window.Pytonium` with a named error for the APIs this project does not provide.
 *
 * Pages written for the original Pytonium may call `Pytonium.callFunction(...)`
 * or bound objects (`Pytonium.myapi.fn()`); without this they die with
 * "undefined is not a function". Here any other name is a stand-in that
 * throws, when called, a TypeError saying what exists instead.
 */

const QUIET = ["then", "toJSON", "constructor", "valueOf", "toString", "inspect", "nodeType", "length"];

function missing(path: string): unknown {
  const fail = function (): never {
    throw new TypeError(
      path + " is not provided by pytonium_lab: only Pytonium.appState (setState, getState, " +
        "removeState, registerForStateUpdates) and the PytoniumReady event are; call Python " +
        "through state instead (a handler on a key the page writes)",
    );
  };
  return new Proxy(fail, {
    get(_target, prop) {
      if (typeof prop === "symbol" || QUIET.indexOf(prop) >= 0) return undefined;
      return missing(path + "." + prop);
    },
  });
}

export function withNamedMissing<T extends object>(api: T): T {
  return new Proxy(api, {
    get(target, prop, receiver) {
      if (typeof prop === "symbol" || prop in target || QUIET.indexOf(prop) >= 0) {
        return Reflect.get(target, prop, receiver);
      }
      return missing("Pytonium." + prop);
    },
  });
}
