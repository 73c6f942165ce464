"""What a process could not write while Redis was unreachable, kept in memory and written back once Redis
answers again: conversation states (newest turn winning), channel resets, locks and places in line to give up,
and the messages claimed meanwhile (so that another process does not answer them too).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable

from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from bot.shared.conversation_key import ConversationKey
from bot.state.keys import RESET_TTL_SECONDS, SEEN_TTL_SECONDS
from bot.state.redis_link import RedisGuard
from bot.state.thread_state import ThreadState, latest_ts, ts_value

logger = logging.getLogger(__name__)

_LOCAL_SEEN_MAX = 10_000

# Stores an encoded state under a thread key unless Redis holds a later answer (the finish script, lock-free).
StoreIfNewer = Callable[[str, str], Awaitable[object]]


class OutageLedger:
    def __init__(self) -> None:
        self.states: dict[str, str] = {}  # thread key -> encoded ThreadState
        self.resets: dict[str, str] = {}  # channel reset key -> reset ts
        self._releases: list[Lock] = []  # turn locks held when Redis went away
        self._departures: list[tuple[str, str]] = []  # (queue, message) places left meanwhile
        self._seen: OrderedDict[str, bool] = OrderedDict()  # value: needs replay to Redis
        self._claiming: dict[str, asyncio.Event] = {}  # messages whose claim is being asked of Redis

    # De-duplication -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def claiming(self, seen_key: str) -> AsyncIterator[bool]:
        """This process's claim on a message, held while Redis is asked: True for the first delivery here.

        A message's deliveries (its `message` and `app_mention` events, Slack's retries) may arrive while the
        first is still waiting for Redis, and Redis may fail under both. So the claim is taken here, in one
        step, before Redis is asked; a delivery arriving meanwhile waits for the first's outcome and is a
        repeat once the first has recorded the message (`remember_seen`), or claims it if the first failed.
        """
        while (pending := self._claiming.get(seen_key)) is not None:
            await pending.wait()
        if seen_key in self._seen:
            yield False
            return
        settled = self._claiming[seen_key] = asyncio.Event()
        try:
            yield True
        finally:
            del self._claiming[seen_key]
            settled.set()

    def remember_seen(self, seen_key: str, *, replay: bool) -> None:
        self._seen[seen_key] = replay
        while len(self._seen) > _LOCAL_SEEN_MAX:
            self._seen.popitem(last=False)

    # What to write back ---------------------------------------------------------------------------
    def keep_state(self, thread_key: str, state: ThreadState) -> None:
        """Keep a conversation's state; a state kept for a later message wins."""
        current = self.states.get(thread_key)
        if current is None or ts_value(ThreadState.decode(current).anchor_ts) <= ts_value(state.anchor_ts):
            self.states[thread_key] = state.encode()

    def keep_joined(self, thread_key: str, encoded: str) -> None:
        """Keep that the bot is part of a thread, unless a state is already kept for it."""
        self.states.setdefault(thread_key, encoded)

    def keep_reset(self, reset_key: str, reset_ts: str) -> None:
        self.resets[reset_key] = latest_ts(self.resets.get(reset_key, ""), reset_ts)

    def release_later(self, lock: Lock) -> None:
        self._releases.append(lock)

    def leave_line_later(self, queue_key: str, ts: str) -> None:
        self._departures.append((queue_key, ts))

    def _anything_kept(self) -> bool:
        return bool(self.states or self.resets or self._releases or self._departures or any(self._seen.values()))

    async def replay(self, guard: RedisGuard, store_if_newer: StoreIfNewer) -> None:
        """Write what was kept during an outage; a newer state already in Redis wins."""
        if not self._anything_kept():
            return
        while self._releases:
            # Otherwise the thread would wait for the lock to expire; a lock since taken by another
            # turn has another token, and release() leaves it alone.
            with contextlib.suppress(LockError):
                await guard.run(lambda _r, lock=self._releases[0]: lock.release())
            self._releases.pop(0)
        while self._departures:
            queue_key, member = self._departures[0]
            await guard.run(lambda r, k=queue_key, m=member: r.zrem(k, m))
            self._departures.pop(0)
        for reset_key, reset_ts in list(self.resets.items()):
            current = await guard.run(lambda r, k=reset_key: r.get(k))
            if current is None or ts_value(current.decode()) < ts_value(reset_ts):
                await guard.run(lambda r, k=reset_key, v=reset_ts: r.set(k, v, ex=RESET_TTL_SECONDS))
            self.resets.pop(reset_key, None)
        for thread_key, value in list(self.states.items()):
            await store_if_newer(thread_key, value)
            if self.states.get(thread_key) == value:
                del self.states[thread_key]
        replays = [k for k, replay in self._seen.items() if replay]
        if replays:
            # Single-key commands: redis-py's cluster pipeline sends each to its slot's node.
            async with guard.client.pipeline(transaction=False) as pipe:
                for seen_key in replays:
                    pipe.set(seen_key, b"1", nx=True, ex=SEEN_TTL_SECONDS)
                await guard.run(lambda _r: pipe.execute())
            for seen_key in replays:
                self._seen[seen_key] = False
        logger.info("Wrote back the memory kept while Redis was unreachable")


class LocalLocks:
    """One turn at a time per conversation within this process (what orders turns while Redis is away)."""

    def __init__(self) -> None:
        self._locks: dict[ConversationKey, tuple[asyncio.Lock, int]] = {}  # lock, turns using it

    def take(self, key: ConversationKey) -> asyncio.Lock:
        local, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (local, users + 1)
        return local

    def done(self, key: ConversationKey) -> None:
        local, users = self._locks[key]
        if users > 1:
            self._locks[key] = (local, users - 1)
        else:
            del self._locks[key]
