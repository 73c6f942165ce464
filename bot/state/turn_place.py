"""One message's turn in its conversation: what was remembered when it began, and its place in line.

`Memory.begin_turn` makes it; the turn holds the conversation with `in_order()` and ends with `finish()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from redis.asyncio.lock import Lock

from bot.shared.conversation_key import ConversationKey
from bot.shared.metrics import QUEUE_WAIT_SECONDS
from bot.state.thread_state import Recall, ThreadState

if TYPE_CHECKING:
    from bot.state.memory import Memory


@dataclass
class Turn:
    """One message's turn in its conversation: what was remembered when it began, and its place in line.

    `in_order()` holds the conversation for the turn (at once if `begin_turn` found it free);
    `finish()` stores what the turn leaves behind and lets the next turn go, in one round trip.
    """

    key: ConversationKey
    ts: str
    recall: Recall
    _memory: Memory
    _lock: Lock | None = None  # the shared lock, once taken
    _queued: bool = False  # has a place in the conversation's line in Redis
    _renewal: asyncio.Task[None] | None = field(default=None, repr=False)

    @contextlib.asynccontextmanager
    async def in_order(self) -> AsyncIterator[Recall]:
        """One turn at a time per conversation, oldest message first, across processes.

        Yields what the conversation remembers, read under the lock. The in-process lock, taken after
        the shared one, keeps turns apart while Redis is unreachable.
        """
        memory = self._memory
        started = time.monotonic()
        if self._lock is None:
            await self._wait_for_lock()
        if self._lock is not None:
            self._renewal = asyncio.create_task(memory.renew(self._lock, self.key))
        local = memory.local_locks.take(self.key)
        try:
            async with local:
                QUEUE_WAIT_SECONDS.observe(time.monotonic() - started)
                yield self.recall
        finally:
            memory.local_locks.done(self.key)
            await self.leave()

    async def finish(self, state: ThreadState | None) -> bool:
        """Store `state` if the conversation is still where this turn began (None: only stay part of
        the thread), and release the lock. False when another turn stored first."""
        self._stop_renewal()
        lock, self._lock = self._lock, None
        return await self._memory.finish(self.key, state, started_from=self.recall, lock=lock)

    async def leave(self) -> None:
        """Give up this turn's place without storing anything (it failed, or it never ran)."""
        self._stop_renewal()
        lock, self._lock = self._lock, None
        queued, self._queued = self._queued, False
        await self._memory.leave(self.key, self.ts, lock=lock, queued=queued)

    def _stop_renewal(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None

    async def _wait_for_lock(self) -> None:
        try:
            taken = await self._memory.wait_for_lock(self.key, self.ts)
        except asyncio.CancelledError:
            await self.leave()
            raise
        if taken is not None:
            self._lock, self.recall = taken
        self._queued = False
