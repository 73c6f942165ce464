"""Thread memory in Redis: the last response id per conversation, resets, de-duplication, turn locks.

This is the only module that knows Redis keys. Every key carries the team id and has a TTL.
While Redis is unreachable, it keeps what it could not write in the process and writes it back
once Redis answers again, newest turn winning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator

from agents.extensions.memory import RedisSession
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from .redis_link import RedisGuard, RedisUnavailable
from .routing import ConversationKey
from .thread_state import Recall, ThreadState, latest_ts, now_ts, ts_value

logger = logging.getLogger(__name__)

SEEN_TTL_SECONDS = 3600  # Slack stops retrying an event after about 5 minutes
RESET_TTL_SECONDS = 400 * 86400  # a channel-wide /reset outlives any thread's memory of it
NAME_TTL_SECONDS = 86400
USAGE_DAY_TTL_SECONDS = 2 * 86400  # a day's counter outlives its day, wherever the reader's clock is
LOCK_TIMEOUT_SECONDS = 60.0  # renewed while a turn runs; expires if its process dies
LOCK_POLL_SECONDS = 0.02  # the next in line
QUEUED_POLL_SECONDS = 0.2  # those behind it: a burst in one thread must not become a storm of Redis calls
# A waiter at the head of the queue that does not take a free lock for this long is gone.
ABANDONED_WAITER_SECONDS = 2.0
_LOCAL_SEEN_MAX = 10_000

# Store a thread's state if it still holds what the turn started from ('cas'), or if the new state
# answers a later message than the stored one ('newer', for writes replayed after an outage).
_STORE_SCRIPT = """
local cur = redis.call('GET', KEYS[1])
if ARGV[2] == 'cas' then
  if (cur or '') ~= ARGV[3] then return 0 end
elseif cur then
  local fields = {}
  for field in string.gmatch(cur .. '|', '([^|]*)|') do table.insert(fields, field) end
  local anchor = tonumber(fields[3]) or 0
  local reset = tonumber(fields[4]) or 0
  if anchor >= tonumber(ARGV[4]) or reset >= tonumber(ARGV[4]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
return 1
"""


class Memory:
    def __init__(self, guard: RedisGuard, *, prefix: str, thread_ttl_seconds: int) -> None:
        self._guard = guard
        self._prefix = prefix
        self._thread_ttl = thread_ttl_seconds
        self._store = guard.client.register_script(_STORE_SCRIPT)
        # Written while Redis was away, replayed when it is back.
        self._pending_states: dict[str, str] = {}
        self._pending_resets: dict[str, str] = {}
        self._pending_releases: list[Lock] = []  # turn locks held when Redis went away
        self._seen_locally: OrderedDict[str, bool] = OrderedDict()  # value: needs replay to Redis
        self._local_locks: dict[ConversationKey, tuple[asyncio.Lock, int]] = {}  # lock, turns using it

    # Keys ---------------------------------------------------------------------------------------
    def _thread_key(self, key: ConversationKey) -> str:
        return f"{self._prefix}:{key.team_id}:thread:{key.channel_id}:{key.thread_ts or 'dm'}"

    def _channel_reset_key(self, team_id: str, channel_id: str) -> str:
        return f"{self._prefix}:{team_id}:reset:{channel_id}"

    def _not_ours_key(self, key: ConversationKey) -> str:
        return f"{self._prefix}:{key.team_id}:notours:{key.channel_id}:{key.thread_ts or 'dm'}"

    def _remembering_since_key(self, team_id: str) -> str:
        return f"{self._prefix}:{team_id}:remembering-since"

    def _seen_key(self, team_id: str, channel_id: str, ts: str) -> str:
        return f"{self._prefix}:{team_id}:seen:{channel_id}:{ts}"

    def _lock_key(self, key: ConversationKey) -> str:
        return f"{self._prefix}:{key.team_id}:lock:{key.channel_id}:{key.thread_ts or 'dm'}"

    def _queue_key(self, key: ConversationKey) -> str:
        return f"{self._prefix}:{key.team_id}:queue:{key.channel_id}:{key.thread_ts or 'dm'}"

    def _name_key(self, team_id: str, user_id: str) -> str:
        return f"{self._prefix}:{team_id}:name:{user_id}"

    def _viewing_key(self, key: ConversationKey) -> str:
        # What a person has open is theirs, not a thread's: one key per DM, read by each of its conversations.
        return f"{self._prefix}:{key.team_id}:viewing:{key.channel_id}"

    def _usage_key(self, key: ConversationKey) -> str:
        return f"{self._prefix}:{key.team_id}:usage:{key.channel_id}:{key.thread_ts or 'dm'}"

    def _user_day_key(self, team_id: str, user_id: str, day: str) -> str:
        return f"{self._prefix}:{team_id}:tokens:{user_id}:{day}"

    # Local memory mode ----------------------------------------------------------------------------
    @property
    def guard(self) -> RedisGuard:
        return self._guard

    def transcript(self, key: ConversationKey) -> RedisSession:
        """The Agents SDK session holding a conversation's transcript (local memory mode), with the
        same prefix, team namespacing and TTL as the rest; run its methods through `guard`."""
        return RedisSession(
            f"{key.channel_id}:{key.thread_ts or 'dm'}",
            redis_client=self._guard.client,
            key_prefix=f"{self._prefix}:{key.team_id}:transcript",
            ttl=self._thread_ttl,
        )

    # De-duplication -------------------------------------------------------------------------------
    async def claim_message(self, team_id: str, channel_id: str, ts: str) -> bool:
        """True for the first delivery of a message, across processes; False for every repeat."""
        seen_key = self._seen_key(team_id, channel_id, ts)
        if seen_key in self._seen_locally:
            return False
        try:
            claimed = await self._guard.run(lambda r: r.set(seen_key, b"1", nx=True, ex=SEEN_TTL_SECONDS))
        except RedisUnavailable:
            self._remember_seen(seen_key, replay=True)
            return True
        self._remember_seen(seen_key, replay=False)
        return bool(claimed)

    def _remember_seen(self, seen_key: str, *, replay: bool) -> None:
        self._seen_locally[seen_key] = replay
        while len(self._seen_locally) > _LOCAL_SEEN_MAX:
            self._seen_locally.popitem(last=False)

    # Conversation state ---------------------------------------------------------------------------
    async def recall(self, key: ConversationKey, *, tokens_of: tuple[str, str] | None = None) -> Recall:
        """What is remembered of `key`; with `tokens_of` (user id, day), that person's tokens of that day too,
        in the same round trip."""
        thread_key = self._thread_key(key)
        reset_key = self._channel_reset_key(key.team_id, key.channel_id)
        pending = self._pending_states.get(thread_key)
        pending_reset = self._pending_resets.get(reset_key, "")
        keys = (
            thread_key,
            reset_key,
            self._not_ours_key(key),
            self._remembering_since_key(key.team_id),
            self._viewing_key(key),
            *([self._user_day_key(key.team_id, *tokens_of)] if tokens_of else []),
        )
        try:
            raw_state, raw_reset, not_ours, since, viewing, *tokens = await self._guard.run(lambda r: r.mget(*keys))
            if since is None:
                await self._start_remembering(key.team_id)
        except RedisUnavailable:
            state = ThreadState.decode(pending) if pending else None
            return Recall(state=state, raw=None, channel_reset_ts=pending_reset)
        raw = raw_state.decode() if raw_state is not None else ""
        state = ThreadState.decode(raw) if raw_state is not None else None
        if pending:
            newer = ThreadState.decode(pending)
            if state is None or ts_value(newer.anchor_ts) > ts_value(state.anchor_ts):
                state = newer  # never chain from an id this process has already superseded
        channel_reset = latest_ts(raw_reset.decode() if raw_reset else "", pending_reset)
        return Recall(
            state=state,
            raw=raw,
            channel_reset_ts=channel_reset,
            not_ours=not_ours is not None,
            remembering_since=since.decode() if since else "",
            viewed_channel_id=viewing.decode() if viewing else "",
            tokens_today=int(tokens[0]) if tokens and tokens[0] else 0,
        )

    async def _start_remembering(self, team_id: str) -> None:
        """Note when Redis began remembering a workspace (first start, or after it lost its data)."""
        since_key = self._remembering_since_key(team_id)
        await self._guard.run(lambda r: r.set(since_key, now_ts(), nx=True, ex=RESET_TTL_SECONDS))

    async def mark_not_ours(self, key: ConversationKey) -> None:
        """Slack's history shows the bot has no part in this thread: don't ask Slack again for a while."""
        not_ours_key = self._not_ours_key(key)
        with contextlib.suppress(RedisUnavailable):
            await self._guard.run(lambda r: r.set(not_ours_key, b"1", ex=self._thread_ttl))

    async def remember(self, key: ConversationKey, state: ThreadState, *, started_from: Recall) -> bool:
        """Store the state after an answer was posted. False when another turn stored first."""
        thread_key = self._thread_key(key)
        if started_from.raw is None:
            mode, expected = "newer", ""
        else:
            mode, expected = "cas", started_from.raw
        try:
            stored = await self._guard.run(
                lambda r: self._store(
                    keys=[thread_key],
                    args=[state.encode(), mode, expected, str(ts_value(state.anchor_ts)), self._thread_ttl],
                    client=r,
                )
            )
        except RedisUnavailable:
            self._keep_pending_state(thread_key, state)
            return True
        self._pending_states.pop(thread_key, None)
        if not stored:
            logger.warning("Conversation %s moved on during this turn: its answer is not chained", key)
        return bool(stored)

    async def mark_participating(self, key: ConversationKey) -> None:
        """Remember the bot is part of a thread without any answer to chain from (e.g. after a hint)."""
        thread_key = self._thread_key(key)
        state = ThreadState(stored_at=time.time())
        try:
            await self._guard.run(lambda r: r.set(thread_key, state.encode(), nx=True, ex=self._thread_ttl))
        except RedisUnavailable:
            self._pending_states.setdefault(thread_key, state.encode())

    async def forget_thread(self, key: ConversationKey, reset_ts: str) -> None:
        thread_key = self._thread_key(key)
        state = ThreadState(stored_at=time.time(), anchor_ts=reset_ts, reset_ts=reset_ts)
        try:
            await self._guard.run(lambda r: r.set(thread_key, state.encode(), ex=self._thread_ttl))
        except RedisUnavailable:
            self._keep_pending_state(thread_key, state)

    async def forget_channel(self, team_id: str, channel_id: str, reset_ts: str) -> None:
        """Forget every conversation of a channel (or DM) at once: one key, whatever the thread count."""
        reset_key = self._channel_reset_key(team_id, channel_id)
        try:
            await self._guard.run(lambda r: r.set(reset_key, reset_ts, ex=RESET_TTL_SECONDS))
        except RedisUnavailable:
            self._pending_resets[reset_key] = latest_ts(self._pending_resets.get(reset_key, ""), reset_ts)

    def _keep_pending_state(self, thread_key: str, state: ThreadState) -> None:
        current = self._pending_states.get(thread_key)
        if current is None or ts_value(ThreadState.decode(current).anchor_ts) <= ts_value(state.anchor_ts):
            self._pending_states[thread_key] = state.encode()

    async def replay_pending(self) -> None:
        """Write what was kept during an outage; a newer state already in Redis wins."""
        replays = [k for k, replay in self._seen_locally.items() if replay]
        if not (self._pending_states or self._pending_resets or replays or self._pending_releases):
            return
        while self._pending_releases:
            # Otherwise the thread would wait for the lock to expire; a lock since taken by another
            # turn has another token, and release() leaves it alone.
            with contextlib.suppress(LockError):
                await self._guard.run(lambda _r, lock=self._pending_releases[0]: lock.release())
            self._pending_releases.pop(0)
        for reset_key, reset_ts in list(self._pending_resets.items()):
            current = await self._guard.run(lambda r, k=reset_key: r.get(k))
            if current is None or ts_value(current.decode()) < ts_value(reset_ts):
                await self._guard.run(lambda r, k=reset_key, v=reset_ts: r.set(k, v, ex=RESET_TTL_SECONDS))
            self._pending_resets.pop(reset_key, None)
        for thread_key, value in list(self._pending_states.items()):
            anchor = str(ts_value(ThreadState.decode(value).anchor_ts))
            await self._guard.run(
                lambda r, k=thread_key, v=value, a=anchor: self._store(
                    keys=[k], args=[v, "newer", "", a, self._thread_ttl], client=r
                )
            )
            if self._pending_states.get(thread_key) == value:
                del self._pending_states[thread_key]
        if replays:
            async with self._guard.client.pipeline(transaction=False) as pipe:
                for seen_key in replays:
                    pipe.set(seen_key, b"1", nx=True, ex=SEEN_TTL_SECONDS)
                await self._guard.run(lambda _r: pipe.execute())
            for seen_key in replays:
                self._seen_locally[seen_key] = False
        logger.info("Wrote back the memory kept while Redis was unreachable")

    # Usage --------------------------------------------------------------------------------------------
    async def record_usage(
        self, key: ConversationKey, *, user_id: str, day: str, total: int, counters: dict[str, int]
    ) -> None:
        """Add a turn's tokens to its conversation's totals and to its speaker's total of `day`: one round trip.
        Counts lost while Redis is away are not replayed (they only inform)."""
        usage_key = self._usage_key(key)
        day_key = self._user_day_key(key.team_id, user_id, day)
        async with self._guard.client.pipeline(transaction=False) as pipe:
            for name, value in {**counters, "turns": 1}.items():
                pipe.hincrby(usage_key, name, value)
            pipe.expire(usage_key, self._thread_ttl)
            pipe.incrby(day_key, total)
            pipe.expire(day_key, USAGE_DAY_TTL_SECONDS)
            with contextlib.suppress(RedisUnavailable):
                await self._guard.run(lambda _r: pipe.execute())

    # User names -----------------------------------------------------------------------------------
    async def cached_names(self, team_id: str, user_ids: list[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        keys = [self._name_key(team_id, u) for u in user_ids]
        try:
            values = await self._guard.run(lambda r: r.mget(keys))
        except RedisUnavailable:
            return {}
        return {u: v.decode() for u, v in zip(user_ids, values, strict=True) if v is not None}

    async def cache_names(self, team_id: str, names: dict[str, str]) -> None:
        if not names:
            return
        async with self._guard.client.pipeline(transaction=False) as pipe:
            for user_id, name in names.items():
                pipe.set(self._name_key(team_id, user_id), name, ex=NAME_TTL_SECONDS)
            with contextlib.suppress(RedisUnavailable):
                await self._guard.run(lambda _r: pipe.execute())

    # The assistant pane ---------------------------------------------------------------------------
    async def remember_viewed_channel(self, key: ConversationKey, channel_id: str) -> None:
        """The channel the person has open beside their DM with the bot (a hint for the model, safe to lose)."""
        viewing_key = self._viewing_key(key)
        with contextlib.suppress(RedisUnavailable):
            await self._guard.run(lambda r: r.set(viewing_key, channel_id, ex=self._thread_ttl))

    # Turn order -----------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def turn_lock(self, key: ConversationKey, ts: str) -> AsyncIterator[None]:
        """One turn at a time per conversation, oldest message first, across processes.

        A turn first joins the conversation's queue in Redis, ordered by message ts, and waits for
        the shared lock there: the order then does not depend on which process or task got there
        first. The in-process lock, taken after it, keeps turns apart while Redis is unreachable.
        """
        lock = await self._acquire_shared(key, ts)
        renewal = asyncio.create_task(self._renew(lock, key)) if lock else None
        local, users = self._local_locks.get(key, (asyncio.Lock(), 0))
        self._local_locks[key] = (local, users + 1)
        try:
            async with local:
                yield
        finally:
            if renewal is not None:
                renewal.cancel()
            if lock is not None:
                try:
                    await self._guard.run(lambda _r: lock.release())
                except RedisUnavailable:
                    self._pending_releases.append(lock)
                except LockError:
                    pass  # it expired: nothing to release
            local, users = self._local_locks[key]
            if users > 1:
                self._local_locks[key] = (local, users - 1)
            else:
                del self._local_locks[key]

    async def _acquire_shared(self, key: ConversationKey, ts: str) -> Lock | None:
        """The cross-process lock, taken in message order; None while Redis is unreachable."""
        queue_key = self._queue_key(key)
        lock = Lock(self._guard.client, self._lock_key(key), timeout=LOCK_TIMEOUT_SECONDS, thread_local=False)
        token = uuid.uuid4().hex.encode()
        try:
            async with self._guard.client.pipeline(transaction=False) as pipe:
                pipe.zadd(queue_key, {ts: float(ts_value(ts))})
                pipe.expire(queue_key, int(LOCK_TIMEOUT_SECONDS * 10))
                # The first look at the queue and the lock, in the same round trip.
                pipe.zrange(queue_key, 0, 0, withscores=True)
                pipe.exists(self._lock_key(key))
                *_, head, locked = await self._guard.run(lambda _r: pipe.execute())
            head_free_since: float | None = None
            while True:
                mine_first = not head or head[0][1] >= float(ts_value(ts))
                if not locked and mine_first:
                    if await self._guard.run(lambda _r: lock.acquire(blocking=False, token=token)):
                        await self._guard.run(lambda r: r.zrem(queue_key, ts))
                        return lock
                elif not locked:
                    # The lock is free but an earlier message's turn does not take it: gone?
                    now = time.monotonic()
                    head_free_since = head_free_since or now
                    if now - head_free_since > ABANDONED_WAITER_SECONDS:
                        gone = head[0][0]
                        await self._guard.run(lambda r, member=gone: r.zrem(queue_key, member))
                        head_free_since = None
                else:
                    head_free_since = None
                await asyncio.sleep(LOCK_POLL_SECONDS if mine_first else QUEUED_POLL_SECONDS)
                async with self._guard.client.pipeline(transaction=False) as pipe:
                    pipe.zrange(queue_key, 0, 0, withscores=True)
                    pipe.exists(self._lock_key(key))
                    head, locked = await self._guard.run(lambda _r: pipe.execute())
        except RedisUnavailable:
            return None
        except asyncio.CancelledError:
            # Leave the queue at once rather than make the next turn wait for an abandoned place.
            with contextlib.suppress(RedisUnavailable, LockError):
                await self._guard.run(lambda r: r.zrem(queue_key, ts))
                if lock.local.token is not None:  # taken just before the cancel: don't leave it to expire
                    await self._guard.run(lambda _r: lock.release())
            raise

    async def _renew(self, lock: Lock, key: ConversationKey) -> None:
        while True:
            await asyncio.sleep(LOCK_TIMEOUT_SECONDS / 3)
            try:
                await self._guard.run(lambda _r: lock.reacquire())
            except RedisUnavailable:
                continue
            except LockError:
                logger.warning("Lost the turn lock of %s; the answer will only be chained if still current", key)
                return
