"""``StateStore.connect(url, name)``: one store shared, through Redis, by many processes.

Redis orders every change. A write is one call of a Lua script (``_WRITE``)
that, atomically, writes the values into a hash (one per store name, JSON
values), adds the number of changes to the revision counter and appends the
change, values and origins included, to a stream (``XADD MAXLEN ~``). A
``batch()`` block is one call holding all its writes: one atomic multi-key
change. The stream is the log every process applies in order, so all agree on
every value, and subscribers everywhere hear the same changes with the same
revisions (the local store's revision *is* Redis's).

Joining: ``connect`` reads a snapshot (hash, revision and the stream's last id,
in one script, so atomically), then a reader thread follows the stream from that
id with ``XREAD BLOCK``. A reader that sees a hole in the revisions (it fell
behind the stream's cap) or loses its connection (Redis restarted) reads a new
snapshot and applies the differences as ordinary changes; it reconnects by
itself, retrying every ``RETRY`` seconds.

``set_state`` returns once its change is ordered and applied locally: the
writer applies its own change itself when every earlier change is applied, and
otherwise first applies what the reader has received. A handler that writes
(the store's lock is held) is heard after the current delivery, as in a plain
store. When Redis cannot be reached, ``set_state`` raises ``ConnectionError``
naming the URL and the local store is unchanged (whether Redis ordered a write
whose reply never came is unknown: the next resync shows it); reads keep serving
the last known state.

Threads: changes from other processes are applied, and their handlers run, on
the reader thread; a ``set_state`` that finds changes received but not yet
applied applies them first, on its own thread. In a Jupyter kernel (``connect``
called on the main thread while an asyncio loop runs there) the reader hands
changes to that loop with ``call_soon_threadsafe``, so handlers run on the
kernel's main thread: between cells, or while a cell awaits (or when a cell
writes, which applies what came before its write).

Inside a ``batch()`` block writes are collected per thread and sent at the end
of the outermost block; reads in the block show the state before it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from ._extras import missing_extra

try:
    import orjson
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry
except ModuleNotFoundError as error:
    raise missing_extra(error, "shared", "StateStore.connect (a store shared through Redis)") from None

from ._change import RawChange
from ._handoff import Handoff
from ._history import differences
from ._store import PYTHON, StateStore
from ._values import check_name, clean_value
from ._where import running_loop

__all__ = ["MAXLEN", "RETRY", "SharedStore"]

log = logging.getLogger("pytonium_lab")

MAXLEN = 10_000
"""About how many stream entries (writes or batches) Redis keeps for processes that fall behind."""
RETRY = 0.2
"""Seconds between the reader's attempts to reach Redis again."""
_BLOCK_MS = 500  # how long one XREAD waits, which bounds how long close() waits for the reader
_WAIT = 10.0  # how long a writer waits for the reader to bring the changes ordered before its own
_QUIET = 0.005
"""After a read that brought only this process's own writes, how long the reader waits before
it blocks on the stream again. Every write wakes every blocked reader, its own process's
too, and in a tight loop of writes those wake-ups cost more than the writes: 2,000-3,400
writes/s with a reader that blocks again at once, 3,900-4,500 with this wait, 5,700-7,300
with no reader at all (one run each, everysec). A writer that finds changes of others
ordered before its own ends the wait (``_poke``), so other processes' changes arrive at
most this much later, and only just after this process wrote."""

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
_SCHEMES = ("redis", "rediss", "unix")

# KEYS: hash, revision, stream. ARGV: maxlen, then per change its field (JSON [namespace,
# key]) and its value's JSON ("" removes the field), then every change's origin as JSON.
# A write without removals is one HSET of all its fields: no parsing in Lua, and one effect
# in the append-only file (a call per field costs as much again). The stream entry's data
# is the arguments joined by newlines (JSON text never holds a raw newline). Returns {id,
# revision, skipped}: skipped lists the removals of missing fields (no change); id is ""
# when nothing changed.
_WRITE = """
local m = (#ARGV - 1) / 3
local last, n, skipped = 2 * m + 1, 0, {}
local removals = false
for i = 3, last, 2 do
  if ARGV[i] == "" then removals = true; break end
end
if removals then
  for i = 2, last, 2 do
    if ARGV[i + 1] ~= "" then
      redis.call("HSET", KEYS[1], ARGV[i], ARGV[i + 1]); n = n + 1
    elseif redis.call("HDEL", KEYS[1], ARGV[i]) == 1 then n = n + 1
    else skipped[#skipped + 1] = (i - 2) / 2 end
  end
else
  for i = 2, last, 2000 do redis.call("HSET", KEYS[1], unpack(ARGV, i, math.min(i + 1999, last))) end
  n = m
end
local skip = table.concat(skipped, ",")
if n == 0 then return {"", tonumber(redis.call("GET", KEYS[2]) or "0"), skip} end
local rev = redis.call("INCRBY", KEYS[2], n)
local data = table.concat(ARGV, "\\n", 2)
local id = redis.call("XADD", KEYS[3], "MAXLEN", "~", ARGV[1], "*", "rev", rev, "n", n, "data", data, "skip", skip)
return {id, rev, skip}
"""

# KEYS: hash, revision, stream. Returns {revision, last stream id, hash as field, value, ...}.
_SNAPSHOT = """
local last = redis.call("XREVRANGE", KEYS[3], "+", "-", "COUNT", 1)
local id = "0-0"
if #last > 0 then id = last[1][1] end
return {redis.call("GET", KEYS[2]) or "0", id, redis.call("HGETALL", KEYS[1])}
"""

# namespace, key, value, origin, then as JSON: the field, the value (b"": a removal) and the origin
_Write = tuple[str, str, Any, str, bytes, bytes, bytes]
_loads = orjson.loads


def _encoded(namespace: str, key: str, value: Any) -> bytes:
    """A clean value's JSON; a str Redis cannot hold (a lone surrogate) is refused, naming the key."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as error:
        raise ValueError(f"{namespace}.{key}: {error} (a shared store holds UTF-8 text only)") from None


@lru_cache(maxsize=65536)
def _field(namespace: str, key: str) -> bytes:
    """A key's hash field, cached: a store writes the same keys again and again."""
    return _encoded(namespace, key, [namespace, key])


def _origin(origin: str) -> bytes:
    if type(origin) is not str:
        raise TypeError(f"origin must be a str, got {type(origin).__name__} {origin!r}")
    return _origin_json(origin)


@lru_cache(maxsize=1024)
def _origin_json(origin: str) -> bytes:
    try:
        return orjson.dumps(origin)
    except orjson.JSONEncodeError as error:
        raise ValueError(f"origin {origin!r}: {error} (a shared store holds UTF-8 text only)") from None


_Reply = list[tuple[str, list[tuple[str, dict[str, str]]]]] | None  # what XREAD returns
_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)


class _Batch(threading.local):
    depth = 0
    writes: list[_Write] | None = None


class SharedStore(StateStore):
    """What :meth:`StateStore.connect` returns: a store whose state lives in Redis.

    Same API as :class:`StateStore`; see the module docstring for order, faults
    and threads. ``close()`` stops following Redis (the local copy stays).
    """

    def __init__(self, url: str, name: str, *, history: int = 1000, maxlen: int = MAXLEN) -> None:
        if type(url) is not str or urlsplit(url).scheme not in _SCHEMES:
            raise ValueError(f"url must be a redis://, rediss:// or unix:// URL string, got {url!r}")
        if type(name) is not str or not _NAME.fullmatch(name):
            raise ValueError(f"name must be 1-200 letters, digits or _.:- characters, got {name!r}")
        if type(maxlen) is not int or maxlen < 1:
            raise ValueError(f"maxlen must be a positive int, got {maxlen!r}")
        super().__init__(history=history)
        self.url = url
        self.name = name
        self._where = _redact(url)
        self._maxlen = maxlen
        self._keys = [f"pytonium_lab:{{{name}}}:state", f"pytonium_lab:{{{name}}}:revision"]
        self._keys.append(f"pytonium_lab:{{{name}}}:log")
        retry = Retry(ExponentialBackoff(cap=0.1, base=0.01), 2)
        self._client = redis.Redis.from_url(url, decode_responses=True, retry=retry, socket_connect_timeout=2)
        self._write_script = self._client.register_script(_WRITE)
        self._snapshot_script = self._client.register_script(_SNAPSHOT)
        self._batch = _Batch()
        self._pending: deque[tuple[int, int, list[RawChange]] | tuple[int, dict[str, dict[str, Any]]]] = deque()
        # On the store's lock: wait() releases it even when held recursively (a handler, restore()),
        # so a writer waiting for the reader never blocks the reader.
        self._arrived = threading.Condition(self._lock)
        self._closed = threading.Event()
        self._poke = threading.Event()  # the reader's quiet wait ends early: a writer needs it, or close()
        self._reader_id: int | None = None  # the reader's Redis client id, for CLIENT UNBLOCK
        self._handoff = Handoff()  # to the kernel's loop when connect() runs in one (see the module docstring)
        try:
            revision, last_id, state = self._read_snapshot(self._client)
        except _REDIS_ERRORS as error:
            self._client.close()
            raise ConnectionError(f"cannot reach Redis at {self._where}: {error}") from error
        self._install(revision, state)
        if threading.current_thread() is threading.main_thread():
            self._handoff.loop = running_loop()  # a Jupyter kernel: handlers on its main thread
        self._reader = threading.Thread(
            target=self._follow, args=(revision, last_id), name=f"pytonium_lab shared {name}", daemon=True
        )
        self._reader.start()

    def close(self) -> None:
        """Stop following Redis and close its connections (idempotent); the local state stays readable."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._poke.set()
        if self._reader is not threading.current_thread():
            deadline = time.monotonic() + _BLOCK_MS / 1000 + 2
            reachable = True
            while self._reader.is_alive() and time.monotonic() < deadline:
                if reachable and self._reader_id is not None:
                    try:  # end its XREAD BLOCK now, not when it times out (again: it may not have blocked yet)
                        self._client.client_unblock(self._reader_id)
                    except _REDIS_ERRORS:
                        reachable = False  # then its read fails soon too; don't wait for timeouts again
                self._reader.join(timeout=0.02)
        self._client.close()

    def __repr__(self) -> str:
        counts = {ns: len(keys) for ns, keys in self._data.items()}
        return f"<SharedStore {self.name!r} at {self._where} revision={self._revision} keys={counts}>"

    # ---- writing -----------------------------------------------------------------

    def set_state(self, namespace: str, key: str, value: Any, *, origin: str = PYTHON) -> None:
        """Order the change in Redis, apply it here, and notify subscribers (see the module docstring)."""
        check_name(namespace, key)
        value = clean_value(namespace, key, value)
        encoded = _encoded(namespace, key, value)
        write = (namespace, key, value, origin, _field(namespace, key), encoded, _origin(origin))
        pending = self._batch.writes
        if pending is None:
            self._send([write])
        else:
            pending.append(write)

    def remove_state(self, namespace: str, key: str, *, origin: str = PYTHON) -> bool:
        """Remove a key everywhere; returns whether it existed (in a batch: whether it exists here now)."""
        check_name(namespace, key)
        write = (namespace, key, None, origin, _field(namespace, key), b"", _origin(origin))
        pending = self._batch.writes
        if pending is None:
            return self._send([write])
        pending.append(write)
        return key in self._data.get(namespace, ())

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One atomic change of many keys: this thread's writes in the block go to Redis in one call at its end.

        Reads inside the block show the state before it. If the block raises, its
        writes are dropped.
        """
        local = self._batch
        if not local.depth:
            local.writes = []
        local.depth += 1
        ok = False
        try:
            yield
            ok = True
        finally:
            local.depth -= 1
            if not local.depth:
                writes, local.writes = local.writes, None
                if ok and writes:
                    self._send(writes)

    def _send(self, writes: list[_Write]) -> bool:
        """Order ``writes`` in Redis (one script call), then apply them here; whether anything changed."""
        args: list[int | bytes] = [self._maxlen]
        for write in writes:
            args += write[4:6]
        args += [write[6] for write in writes]
        try:
            entry_id, last, skip = self._write_script(keys=self._keys, args=args)
        except _REDIS_ERRORS as error:
            raise ConnectionError(f"cannot reach Redis at {self._where}: {error}") from error
        if not entry_id:
            return False
        last = int(last)
        skipped = _skipped(skip)
        changes = [w for i, w in enumerate(writes) if i not in skipped]
        first = last - len(changes) + 1
        raws = [(w[0], w[1], w[2], not w[5], w[3], first + i) for i, w in enumerate(changes)]
        self._settle(first, last, raws)
        return True

    def _settle(self, first: int, last: int, raws: list[RawChange]) -> None:
        """Apply our own ordered change once every change before it is applied."""
        deadline = time.monotonic() + _WAIT
        with self._arrived:
            while True:
                self._catch_up()
                if self._revision >= last:  # the reader (or a resync) applied it already
                    return
                if self._revision == first - 1:
                    self.apply_ordered(raws, last)
                    return
                if threading.current_thread() is self._reader:
                    return  # a handler on the reader: it applies this write when it reads it
                self._poke.set()  # the reader may be in its quiet wait
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning(
                        "shared store %r: changes before revision %d have not arrived in %.0f s; "
                        "it is ordered and will be applied when they do",
                        self.name,
                        first,
                        _WAIT,
                    )
                    return
                self._arrived.wait(min(left, 0.05))  # the reader has not received the changes before ours

    # ---- following Redis ---------------------------------------------------------

    def _read_snapshot(self, client: redis.Redis) -> tuple[int, str, dict[str, dict[str, Any]]]:
        revision, last_id, flat = self._snapshot_script(keys=self._keys, client=client)
        state: dict[str, dict[str, Any]] = {}
        for i in range(0, len(flat), 2):
            namespace, key = _loads(flat[i])
            state.setdefault(namespace, {})[key] = _loads(flat[i + 1])
        return int(revision), last_id, state

    def _install(self, revision: int, state: dict[str, dict[str, Any]]) -> None:
        """Make the local state Redis's snapshot at ``revision``: the differences are heard as changes."""
        with self._lock:
            if revision <= self._revision:
                if revision < self._revision:
                    log.warning(
                        "shared store %r: Redis is at revision %d, behind this process (%d): did it lose data?",
                        self.name,
                        revision,
                        self._revision,
                    )
                return
            changes = differences(self._data, state)
            first = max(self._revision, revision - len(changes)) + 1
            raws = [
                (ns, key, value, removed, "resync", first + i) for i, (ns, key, value, removed) in enumerate(changes)
            ]
            self.apply_ordered(raws, max(revision, first + len(raws) - 1))

    def _follow(self, revision: int, last_id: str) -> None:
        """The reader thread: follow the stream, resynchronising after a hole or a lost connection."""
        client = redis.Redis.from_url(
            self.url, decode_responses=True, socket_connect_timeout=2, socket_timeout=_BLOCK_MS / 1000 + 5
        )
        stream = self._keys[2]
        resync = False
        try:
            while not self._closed.is_set():
                try:
                    if self._reader_id is None:
                        self._reader_id = int(client.client_id())
                    if resync:
                        revision, last_id, state = self._read_snapshot(client)
                        self._hand_over((revision, state))
                        resync = False
                        log.info("shared store %r resynchronised at revision %d", self.name, revision)
                    reply = cast(_Reply, client.xread({stream: last_id}, count=1000, block=_BLOCK_MS))
                except _REDIS_ERRORS as error:
                    if not resync:
                        log.warning("shared store %r lost Redis at %s (%s); retrying", self.name, self._where, error)
                    resync = True
                    self._reader_id = None  # a new connection has a new id
                    self._closed.wait(RETRY)
                    continue
                news = False
                for _, entries in reply or ():
                    for entry_id, fields in entries:
                        last = int(fields["rev"])
                        n = int(fields["n"])
                        if last <= revision:  # already in the snapshot
                            last_id = entry_id
                            continue
                        if last - n != revision:  # a hole: we fell behind the stream's cap
                            resync = True
                            break
                        if last > self._revision:  # not our own write, applied already by its writer
                            self._hand_over((last - n + 1, last, _parse(fields, last - n + 1)))
                            news = True
                        revision, last_id = last, entry_id
                    if resync:
                        break
                if reply and not news and not resync:
                    self._poke.wait(_QUIET)
                    self._poke.clear()
        except Exception:
            log.exception("shared store %r: the reader thread stopped", self.name)
        finally:
            client.close()

    def _hand_over(self, item: tuple[int, int, list[RawChange]] | tuple[int, dict[str, dict[str, Any]]]) -> None:
        with self._arrived:
            idle = not self._pending  # else a job to catch up is queued already and will take this too
            self._pending.append(item)
            self._arrived.notify_all()
            if self._handoff.loop is None:
                self._catch_up()
                return
        if idle and not self._handoff.post(self._catch_up_scheduled):
            self._handoff.loop = None  # the loop is closed: apply here from now on
            with self._lock:
                self._catch_up()

    def _catch_up_scheduled(self) -> None:
        with self._lock:
            self._catch_up()

    def _catch_up(self) -> None:
        """Apply what the reader received, in order (the store's lock is held)."""
        pending = self._pending
        while pending:
            item = pending.popleft()
            if len(item) == 2:
                self._install(*item)
                continue
            first, last, raws = item
            if last <= self._revision:
                continue  # a writer applied it already
            if first == self._revision + 1:
                self.apply_ordered(raws, last)
            else:  # cannot happen: the reader checks the revisions and resyncs
                log.error("shared store %r: change %d arrived at revision %d", self.name, first, self._revision)


def _parse(fields: dict[str, str], first: int) -> list[RawChange]:
    """A stream entry's changes, numbered from ``first`` (removals of missing keys left out)."""
    skipped = _skipped(fields["skip"])
    lines = fields["data"].split("\n")
    m = len(lines) // 3
    items = _loads(f"[{','.join(line or 'null' for line in lines)}]")  # one parse for the whole entry
    raws: list[RawChange] = []
    for i in range(m):
        if i not in skipped:
            namespace, key = items[2 * i]
            raws.append((namespace, key, items[2 * i + 1], not lines[2 * i + 1], items[2 * m + i], first + len(raws)))
    return raws


def _skipped(skip: str) -> set[int]:
    """The script's list of removals that changed nothing (indexes into the write)."""
    return {int(i) for i in skip.split(",")} if skip else set()


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = f"{parts.username}:***@" if parts.username else ":***@"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}{host}{port}", parts.path, parts.query, parts.fragment))
