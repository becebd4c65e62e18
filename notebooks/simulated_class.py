"""A simulated class for notebooks/classroom.ipynb: students who answer the poll over the real WebSocket.

    sim = simulate(room, 30)      # 30 protocol clients, each answers once after a random pause
    await sim.finished()          # in a notebook cell: until every answer reached the store

No phones at hand (or a notebook run by the tests): the students are asyncio
WebSocket clients on a thread of their own, talking the page protocol
(docs/protocol.md) to the served class exactly as the poll page does.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import threading
import time
from typing import Any

import websockets


class SimulatedClass:
    def __init__(self, room: Any, students: int, seconds: float, seed: int) -> None:
        self.room, self.students, self.sent = room, students, 0
        self._random = random.Random(seed)
        self._seconds = seconds
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _student(self, url: str, origin: str, options: list[str], delay: float) -> None:
        view = "view:" + secrets.token_hex(8)
        async with websockets.connect(url, origin=origin, proxy=None) as ws:
            await ws.send(json.dumps({"t": "hello", "view": view}))
            await ws.recv()  # the snapshot
            await asyncio.sleep(delay)
            answer = self._random.choice(options)
            await ws.send(
                json.dumps({"t": "set", "view": view, "ns": "answers", "key": "choice", "value": answer, "id": 1})
            )
            self.sent += 1
            await asyncio.sleep(0.5)  # stay a moment: the teacher sees the count

    async def _run(self) -> None:
        room = self.room
        url = f"ws://127.0.0.1:{room.port}/_pytonium/ws?token={room.token}"
        options = room.store.get_state("poll", "options")
        await asyncio.gather(
            *(
                self._student(url, f"http://127.0.0.1:{room.port}", options, self._random.uniform(0, self._seconds))
                for _ in range(self.students)
            )
        )

    async def finished(self, timeout: float = 30.0) -> int:
        """Wait (letting the notebook's loop apply the answers) until every student's answer is in the store."""
        deadline = time.monotonic() + timeout
        while len(self.room.answers("choice")) < self.students:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"only {len(self.room.answers('choice'))} of {self.students} answers after {timeout} s"
                )
            await asyncio.sleep(0.05)
        return self.students


def simulate(room: Any, students: int = 30, seconds: float = 3.0, seed: int = 1) -> SimulatedClass:
    """Start ``students`` simulated students answering within ``seconds``."""
    return SimulatedClass(room, students, seconds, seed)
