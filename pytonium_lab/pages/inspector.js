/*
 * The inspector page (pytonium_lab/_inspector.py, docs/protocol.md "The inspector").
 *
 * Plain ES2017 (Chrome 66 runs it too), no build step. It is a page like any
 * other: it sees the store through Pytonium.appState, its own mirror. The live
 * table and the changes since it opened come from registerForStateUpdates;
 * what a mirror cannot know (older history, state_at, restore) it asks over
 * state: it writes "request" in its private namespace and Python answers in
 * "answer.<view id>". One request is out at a time.
 *
 * Nothing from the state is ever parsed as HTML or run: every text goes in
 * through textContent or an input's value.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("pytonium-inspector-config").textContent);
  var PRIVATE = config.ns;
  var STATE_EVENT = "pytonium-inspector-state";
  var PRIVATE_EVENT = "pytonium-inspector-private";
  var REFRESH_MS = 400; // a quiet spell after live changes, then the exact history is asked for
  var GIVE_UP_MS = 30000; // a request unanswered this long (no Python side any more) lets the next go
  var SHORT = 120;

  var app = null;
  var viewId = "";
  var live = new Map(); // slot -> {ns, key, value}
  var rows = new Map(); // slot -> row of the live table
  var registered = new Set();
  var edited = new Map(); // "ns.key" -> slot, for the store's refusals (console.warn of the runtime)
  var liveChanges = []; // seen since the last history answer, newest first
  var history = { current: 0, revisions: [], changes: [] };
  // Live changes since the last history answer: the answer's newest revision is no longer "now",
  // so the slider gets a "now" position of its own and that revision becomes a past one to show.
  var stale = false;
  var viewing = null; // the revision the slider shows (null: now)
  var past = null; // the state at `viewing`, once answered
  var counter = 0;
  var inflight = null;
  var queue = [];
  var refreshTimer = 0;
  var mine = false; // true while this page's own setState/removeState fires its event

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function slotOf(ns, key) {
    return ns + "\u0000" + key;
  }

  function json(value) {
    return JSON.stringify(value);
  }

  function short(text) {
    return text.length <= SHORT ? text : text.slice(0, SHORT - 1) + "\u2026";
  }

  function pad(n, width) {
    return String(n).padStart(width || 2, "0");
  }

  function clock(seconds) {
    var d = new Date(seconds * 1000);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3);
  }

  function setStatus(text, isError) {
    var status = $("status");
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  // ---- asking Python ------------------------------------------------------------

  function request(op, fields, done) {
    for (var i = 0; i < queue.length; i++) {
      if (queue[i].op === op && op !== "restore") {
        queue[i].fields = fields; // the newest question of a kind replaces a waiting one
        queue[i].done = done;
        return;
      }
    }
    queue.push({ op: op, fields: fields, done: done });
    pump();
  }

  function pump() {
    if (inflight || !queue.length || !app) return;
    var next = queue.shift();
    var message = { id: ++counter, view: viewId, op: next.op };
    Object.keys(next.fields).forEach(function (k) {
      message[k] = next.fields[k];
    });
    var sent = { id: message.id, next: next };
    sent.slow = setTimeout(function () {
      if (inflight !== sent) return;
      sent.waited = true;
      setStatus("waiting for Python (a running cell answers when it ends)\u2026");
    }, 1500);
    sent.giveUp = setTimeout(function () {
      if (inflight !== sent) return;
      inflight = null;
      setStatus("no answer from Python to " + next.op + " (is the inspector closed?)", true);
      pump();
    }, GIVE_UP_MS);
    inflight = sent;
    try {
      app.setState(PRIVATE, "request", message);
    } catch (e) {
      finish();
      setStatus(String(e && e.message ? e.message : e), true);
      pump();
    }
  }

  function finish() {
    if (!inflight) return;
    clearTimeout(inflight.slow);
    clearTimeout(inflight.giveUp);
    inflight = null;
  }

  function onAnswer(answer) {
    if (!inflight || !answer || answer.id !== inflight.id) return; // an older, given-up request
    var next = inflight.next;
    var waited = inflight.waited;
    finish();
    if (waited) setStatus("");
    if (answer.ok) next.done(answer);
    else {
      setStatus(next.op + ": " + answer.error, true);
      // A revision that left the kept history meanwhile (answers are history too): ask again.
      if (next.op !== "history") request("history", {}, gotHistory);
    }
    pump();
  }

  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      request("history", {}, gotHistory);
    }, REFRESH_MS);
  }

  // ---- the live table -------------------------------------------------------------

  function watch(ns) {
    if (typeof ns !== "string" || ns === PRIVATE || registered.has(ns)) return;
    registered.add(ns);
    // One registration per namespace: a growing list never delivers a change twice.
    app.registerForStateUpdates(STATE_EVENT, [ns], true, true);
  }

  function matches(ns, key, text) {
    var q = $("filter").value.trim().toLowerCase();
    return !q || (ns + "." + key + " " + text).toLowerCase().indexOf(q) >= 0;
  }

  function showError(row, text) {
    row.error.textContent = text;
  }

  function makeRow(ns, key) {
    var tr = el("tr");
    var input = el("input", "value");
    input.type = "text";
    input.spellcheck = false;
    input.setAttribute("aria-label", ns + "." + key);
    var error = el("span", "error");
    var set = el("button", "set", "Set");
    set.type = "button";
    var remove = el("button", "remove", "Remove");
    remove.type = "button";
    var val = el("td", "val");
    val.appendChild(input);
    val.appendChild(error);
    var act = el("td", "act");
    act.appendChild(set);
    act.appendChild(remove);
    tr.appendChild(el("td", "ns", ns));
    tr.appendChild(el("td", "key", key));
    tr.appendChild(val);
    tr.appendChild(act);
    tr.dataset.ns = ns;
    tr.dataset.key = key;
    var row = { tr: tr, input: input, error: error, ns: ns, key: key, shown: "" };
    input.addEventListener("input", function () {
      input.classList.toggle("dirty", input.value !== row.shown);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") commit(row);
      else if (e.key === "Escape") revert(row);
    });
    set.addEventListener("click", function () {
      commit(row);
    });
    remove.addEventListener("click", function () {
      mine = true;
      try {
        app.removeState(ns, key);
      } catch (e) {
        showError(row, String(e && e.message ? e.message : e));
      } finally {
        mine = false;
      }
    });
    return row;
  }

  function place(row) {
    var body = $("live").tBodies[0];
    var mine = slotOf(row.ns, row.key);
    var children = body.children;
    for (var i = 0; i < children.length; i++) {
      var other = children[i].dataset;
      if (slotOf(other.ns, other.key) > mine) {
        body.insertBefore(row.tr, children[i]);
        return;
      }
    }
    body.appendChild(row.tr);
  }

  function show(row, value) {
    var text = json(value);
    var dirty = row.input.value !== row.shown;
    row.shown = text;
    if (!dirty) row.input.value = text; // never overwrite what the user is typing
    row.input.classList.toggle("dirty", row.input.value !== text);
    row.tr.hidden = !matches(row.ns, row.key, text);
  }

  function revert(row) {
    row.input.value = row.shown;
    row.input.classList.remove("dirty");
    showError(row, "");
  }

  function commit(row) {
    var value;
    try {
      value = JSON.parse(row.input.value);
    } catch (e) {
      showError(row, "not JSON: " + e.message + " (the store is unchanged)");
      return;
    }
    mine = true;
    try {
      app.setState(row.ns, row.key, value); // the runtime checks it: a TypeError names ns.key
    } catch (e) {
      showError(row, String(e && e.message ? e.message : e) + " (the store is unchanged)");
      return;
    } finally {
      mine = false;
    }
    showError(row, "");
    edited.set(row.ns + "." + row.key, slotOf(row.ns, row.key));
    row.input.value = row.shown = json(app.getState(row.ns, row.key));
    row.input.classList.remove("dirty");
  }

  // The store's refusal of a write reaches the page as the runtime's console.warn
  // ("Pytonium: the store refused write N (ns.key): why"): show it on that row.
  var warn = console.warn;
  console.warn = function () {
    warn.apply(console, arguments);
    var text = String(arguments[0]);
    if (text.indexOf("Pytonium: the store refused write ") !== 0) return;
    edited.forEach(function (slot, name) {
      var at = text.indexOf("(" + name + "): ");
      var row = rows.get(slot);
      if (at >= 0 && row) showError(row, "the store refused it: " + text.slice(at + name.length + 4));
    });
  };

  function countKeys() {
    var shown = 0;
    rows.forEach(function (row) {
      if (!row.tr.hidden) shown++;
    });
    var total = live.size;
    $("count").textContent = total + (total === 1 ? " key" : " keys") + (shown !== total ? ", " + shown + " shown" : "");
    $("empty").hidden = viewing !== null || total > 0;
  }

  function onState(event) {
    var d = event.detail;
    if (!d || d.namespace === PRIVATE || !registered.has(d.namespace)) return;
    var slot = slotOf(d.namespace, d.key);
    var before = live.get(slot);
    if (d.removed) {
      live.delete(slot);
      var gone = rows.get(slot);
      if (gone) gone.tr.remove();
      rows.delete(slot);
    } else {
      live.set(slot, { ns: d.namespace, key: d.key, value: d.value });
      var row = rows.get(slot);
      if (!row) {
        row = makeRow(d.namespace, d.key);
        rows.set(slot, row);
        place(row);
      }
      show(row, d.value);
    }
    if (d.origin !== "snapshot") {
      liveChanges.unshift({
        time: Date.now() / 1000,
        origin: mine ? "this inspector" : "live: " + d.origin, // the exact origin comes with the next history
        ns: d.namespace,
        key: d.key,
        removed: d.removed,
        existed: before !== undefined,
        old: before === undefined ? null : short(json(before.value)),
        new: d.removed ? null : short(json(d.value)),
        unconfirmed: true,
      });
      liveChanges.length = Math.min(liveChanges.length, 50);
      drawChanges();
      if (!stale) {
        stale = true;
        drawSlider();
      }
      refreshSoon();
    }
    if (viewing !== null) drawPast();
    countKeys();
  }

  function refilter() {
    rows.forEach(function (row) {
      row.tr.hidden = !matches(row.ns, row.key, row.shown);
    });
    if (viewing !== null) drawPast();
    countKeys();
  }

  // ---- recent changes -------------------------------------------------------------

  function drawChanges() {
    var body = $("changes").tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    liveChanges.concat(history.changes).slice(0, 50).forEach(function (c) {
      var tr = el("tr", c.unconfirmed ? "unconfirmed" : "");
      tr.appendChild(el("td", "time", clock(c.time) + (c.rev ? " r" + c.rev : "")));
      tr.appendChild(el("td", "origin", c.origin === viewId ? "this inspector" : c.origin));
      tr.appendChild(el("td", "key", c.ns + "." + c.key));
      var what = (c.existed ? c.old : "(new)") + " \u2192 " + (c.removed ? "(removed)" : c.new);
      tr.appendChild(el("td", "what", what));
      body.appendChild(tr);
    });
  }

  // ---- the time slider --------------------------------------------------------------

  function gotHistory(answer) {
    history = answer;
    stale = false;
    liveChanges = [];
    drawChanges();
    drawSlider();
  }

  /** The slider's last position: "now" (the newest kept revision, unless live changes came since). */
  function nowIndex() {
    return history.revisions.length - (stale ? 0 : 1);
  }

  function drawSlider() {
    var slider = $("slider");
    var revisions = history.revisions;
    slider.max = String(Math.max(nowIndex(), 0));
    slider.disabled = nowIndex() < 1;
    slider.dataset.revisions = revisions
      .map(function (r) {
        return r[0];
      })
      .join(",");
    var at = -1;
    for (var i = 0; viewing !== null && i < nowIndex(); i++) if (revisions[i][0] === viewing) at = i;
    if (viewing !== null && at < 0) goLive(); // that revision left the kept history
    slider.value = String(viewing === null ? nowIndex() : at);
    label();
  }

  function label() {
    var slider = $("slider");
    var i = Number(slider.value);
    var revisions = history.revisions;
    var text = "now (live)";
    if (viewing !== null && i < nowIndex()) {
      var r = revisions[i];
      text = "revision " + r[0] + (r[1] ? " \u00b7 " + clock(r[1]) : " (the oldest kept state)");
    }
    $("at").textContent = text;
    $("restore").disabled = viewing === null || past === null;
    $("now").hidden = viewing === null;
  }

  function goLive() {
    viewing = null;
    past = null;
    $("slider").value = $("slider").max;
    $("live").hidden = false;
    $("past").hidden = true;
    $("past-note").hidden = true;
    label();
    countKeys();
  }

  function onSlide() {
    var i = Number($("slider").value);
    var revisions = history.revisions;
    if (i >= nowIndex()) {
      goLive();
      return;
    }
    var revision = revisions[i][0];
    viewing = revision;
    past = null;
    label();
    $("past-note").hidden = false;
    $("past-note").textContent = "Loading the state at revision " + revision + "\u2026";
    request("state_at", { revision: revision }, function (answer) {
      if (viewing !== answer.revision) return; // the slider moved on
      past = answer.state;
      drawPast();
      label();
    });
  }

  function drawPast() {
    if (past === null) return;
    $("live").hidden = true;
    $("past").hidden = false;
    var body = $("past").tBodies[0];
    while (body.firstChild) body.removeChild(body.firstChild);
    var then = [];
    Object.keys(past).forEach(function (ns) {
      Object.keys(past[ns]).forEach(function (key) {
        then.push([ns, key, past[ns][key]]);
      });
    });
    then.sort(function (a, b) {
      var x = slotOf(a[0], a[1]);
      var y = slotOf(b[0], b[1]);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    var differ = 0;
    then.forEach(function (item) {
      var text = json(item[2]);
      var now = live.get(slotOf(item[0], item[1]));
      var same = now !== undefined && json(now.value) === text;
      if (!same) differ++;
      var tr = el("tr", same ? "" : "differs");
      tr.dataset.ns = item[0];
      tr.dataset.key = item[1];
      tr.appendChild(el("td", "ns", item[0]));
      tr.appendChild(el("td", "key", item[1]));
      var val = el("td", "val");
      val.appendChild(el("code", "json", text));
      tr.appendChild(val);
      tr.appendChild(el("td", "act", same ? "" : now === undefined ? "removed since" : "changed since"));
      tr.hidden = !matches(item[0], item[1], text);
      body.appendChild(tr);
    });
    var added = 0;
    live.forEach(function (v) {
      if (!past[v.ns] || !Object.prototype.hasOwnProperty.call(past[v.ns], v.key)) added++;
    });
    $("past-note").hidden = false;
    $("past-note").textContent =
      "The state right after revision " + viewing + " (read-only): " + then.length + " keys, " + differ +
      " differ from now" + (added ? ", " + added + " added since" : "") + ". Restore writes it back.";
  }

  function onRestore() {
    if (viewing === null) return;
    var revision = viewing;
    $("restore").disabled = true;
    request("restore", { revision: revision }, function (answer) {
      setStatus("restored revision " + answer.revision + " (" + answer.changes + " changes)");
      goLive();
      request("history", {}, gotHistory);
    });
  }

  // ---- start ------------------------------------------------------------------------

  function onPrivate(event) {
    var d = event.detail;
    if (!d || d.namespace !== PRIVATE || d.removed) return;
    if (d.key === "namespaces" && Array.isArray(d.value)) d.value.forEach(watch);
    else if (d.key === "answer." + viewId) onAnswer(d.value);
  }

  function start() {
    app = window.Pytonium.appState;
    viewId = app.viewId;
    window.addEventListener(PRIVATE_EVENT, onPrivate);
    window.addEventListener(STATE_EVENT, onState);
    app.registerForStateUpdates(PRIVATE_EVENT, [PRIVATE], false, true);
    (config.namespaces || []).forEach(watch);
    var listed = app.getState(PRIVATE, "namespaces");
    if (Array.isArray(listed)) listed.forEach(watch);
    $("filter").addEventListener("input", refilter);
    $("slider").addEventListener("input", onSlide);
    $("restore").addEventListener("click", onRestore);
    $("now").addEventListener("click", goLive);
    window.addEventListener("PytoniumDisconnected", function () {
      setStatus("disconnected from the store: re-run the cell", true);
    });
    countKeys();
    request("history", {}, gotHistory);
  }

  if (window.PytoniumReady) start();
  else window.addEventListener("PytoniumReady", start);
})();
