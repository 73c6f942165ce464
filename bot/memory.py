"""Thread memory in Redis, as the two moments of a turn: `Memory.begin_turn` and `Turn.finish`.

Beginning a turn is one Lua script: claim the message (de-duplication), read what the conversation
remembers, and take a place in its line (and the lock, if free). Finishing is one more: store the new
state if the conversation has not moved on, and let the next turn go. Waiting for the lock is the only
other round trip a turn needs. This is the only module that knows Redis keys; every key carries the
team id and has a TTL. While Redis is unreachable, turns are ordered by an in-process lock and what
could not be written is kept and written back once Redis answers again, newest turn winning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from agents.extensions.memory import RedisSession
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from .memory_scripts import BEGIN_SCRIPT, FINISH_SCRIPT, WAIT_SCRIPT
from .redis_link import RedisGuard, RedisUnavailable
from .routing import ConversationKey
from .thread_state import Recall, ThreadState, latest_ts, now_ts, ts_value

logger = logging.getLogger(__name__)

SEEN_TTL_SECONDS = 3600  # Slack stops retrying an event after about 5 minutes
RESET_TTL_SECONDS = 400 * 86400  # a channel-wide /reset outlives any thread's memory of it
NAME_TTL_SECONDS = 86400
USAGE_DAY_TTL_SECONDS = 2 * 86400  # a day's counter outlives its day, wherever the reader's clock is
LOCK_TIMEOUT_SECONDS = 60.0  # renewed while a turn runs; expires if its process dies
QUEUE_TTL_SECONDS = int(LOCK_TIMEOUT_SECONDS * 10)
LOCK_POLL_SECONDS = 0.02  # the next in line
QUEUED_POLL_SECONDS = 0.2  # those behind it: a burst in one thread must not become a storm of Redis calls
# A waiter at the head of the queue that does not take a free lock for this long is gone.
ABANDONED_WAITER_SECONDS = 2.0
_LOCAL_SEEN_MAX = 10_000


class Keys:
    """Every key name. On a Redis Cluster the channel id is a hash tag, so that a conversation's keys,
    its channel's reset and its messages' de-duplication share one slot (the scripts touch them
    together); user names share their workspace's slot. A single Redis keeps the names it always had."""

    def __init__(self, prefix: str, *, hash_tags: bool) -> None:
        self._prefix = prefix
        self._hash_tags = hash_tags

    @property
    def prefix(self) -> str:
        return self._prefix

    def slot(self, part: str) -> str:
        """`part` as a hash tag on a cluster (keys sharing it share a slot), as itself on a single Redis."""
        return f"{{{part}}}" if self._hash_tags else part

    def _conversation(self, kind: str, key: ConversationKey) -> str:
        return f"{self._prefix}:{key.team_id}:{kind}:{self.slot(key.channel_id)}:{key.thread_ts or 'dm'}"

    def thread(self, key: ConversationKey) -> str:
        return self._conversation("thread", key)

    def not_ours(self, key: ConversationKey) -> str:
        return self._conversation("notours", key)

    def viewing(self, key: ConversationKey) -> str:
        # What a person has open is theirs, not a thread's: one key per DM, read by each of its conversations.
        return f"{self._prefix}:{key.team_id}:viewing:{self.slot(key.channel_id)}"

    def usage(self, key: ConversationKey) -> str:
        return self._conversation("usage", key)

    def tokens(self, team_id: str, user_id: str, day: str) -> str:
        return f"{self._prefix}:{team_id}:tokens:{user_id}:{day}"

    def lock(self, key: ConversationKey) -> str:
        return self._conversation("lock", key)

    def queue(self, key: ConversationKey) -> str:
        return self._conversation("queue", key)

    def channel_reset(self, team_id: str, channel_id: str) -> str:
        return f"{self._prefix}:{team_id}:reset:{self.slot(channel_id)}"

    def seen(self, team_id: str, channel_id: str, ts: str) -> str:
        return f"{self._prefix}:{team_id}:seen:{self.slot(channel_id)}:{ts}"

    def remembering_since(self, team_id: str) -> str:
        return f"{self._prefix}:{team_id}:remembering-since"

    def channel_remembering_since(self, team_id: str, channel_id: str) -> str:
        return f"{self._prefix}:{team_id}:remembering-since:{self.slot(channel_id)}"

    def name(self, team_id: str, user_id: str) -> str:
        return f"{self._prefix}:{team_id}:name:{self.slot(team_id) + ':' if self._hash_tags else ''}{user_id}"


def _text(value: bytes | None) -> str:
    return value.decode() if value is not None else ""


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
        if self._lock is None:
            await self._wait_for_lock()
        if self._lock is not None:
            self._renewal = asyncio.create_task(memory.renew(self._lock, self.key))
        local = memory.local_lock(self.key)
        try:
            async with local:
                yield self.recall
        finally:
            memory.local_lock_done(self.key)
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


class Memory:
    def __init__(self, guard: RedisGuard, *, prefix: str, thread_ttl_seconds: int, hash_tags: bool = False) -> None:
        self._guard = guard
        self._keys = Keys(prefix, hash_tags=hash_tags)
        self._thread_ttl = thread_ttl_seconds
        self._begin = guard.client.register_script(BEGIN_SCRIPT)
        self._wait = guard.client.register_script(WAIT_SCRIPT)
        self._finish = guard.client.register_script(FINISH_SCRIPT)
        # Written while Redis was away, replayed when it is back.
        self._pending_states: dict[str, str] = {}
        self._pending_resets: dict[str, str] = {}
        self._pending_releases: list[Lock] = []  # turn locks held when Redis went away
        self._pending_departures: list[tuple[str, str]] = []  # (queue, message) places left meanwhile
        self._seen_locally: OrderedDict[str, bool] = OrderedDict()  # value: needs replay to Redis
        self._local_locks: dict[ConversationKey, tuple[asyncio.Lock, int]] = {}  # lock, turns using it

    # The turn -------------------------------------------------------------------------------------
    async def begin_turn(
        self, key: ConversationKey, ts: str, *, requires_part: bool, joins: bool, answers: bool
    ) -> Turn | None:
        """Claim the message and read what its conversation remembers, in one round trip; None for a
        repeat delivery (across processes).

        `requires_part`: the message is answered only if the bot is already part of the thread, so it
        neither joins nor queues when Redis knows nothing of the thread. `joins`: from now on the bot
        is part of the thread. `answers`: take a place in the conversation's line, and the lock if free.
        """
        keys = self._keys
        seen_key = keys.seen(key.team_id, key.channel_id, ts)
        if seen_key in self._seen_locally:
            return None
        token = uuid.uuid4().hex
        joined_with = ThreadState(stored_at=time.time()).encode() if joins else ""
        sent = self._guard.up
        try:
            reply = await self._guard.run(
                lambda r: self._begin(
                    keys=[
                        seen_key,
                        keys.thread(key),
                        keys.channel_reset(key.team_id, key.channel_id),
                        keys.not_ours(key),
                        keys.channel_remembering_since(key.team_id, key.channel_id),
                        keys.viewing(key),
                        keys.queue(key),
                        keys.lock(key),
                    ],
                    args=[
                        SEEN_TTL_SECONDS,
                        "1" if requires_part else "0",
                        joined_with,
                        self._thread_ttl,
                        "1" if answers else "0",
                        ts,
                        repr(float(ts_value(ts))),
                        QUEUE_TTL_SECONDS,
                        token,
                        int(LOCK_TIMEOUT_SECONDS * 1000),
                    ],
                    client=r,
                )
            )
        except RedisUnavailable:
            self._remember_seen(seen_key, replay=True)
            if answers and sent:
                self._forget_place_later(key, ts, token)
            if joins and not requires_part:
                self._pending_states.setdefault(keys.thread(key), joined_with)
            return Turn(key, ts, self._recall_locally(key), self)
        self._remember_seen(seen_key, replay=False)
        if not reply[0]:
            return None
        raw_state, raw_reset, not_ours, since, viewing, taken = reply[1:7]
        recall = self._recall(key, raw_state, raw_reset, not_ours, since, viewing)
        if since is None:
            await self._start_remembering(key.team_id, key.channel_id)
        lock = self._lock(key, token) if taken else None
        queued = not taken and answers and (raw_state is not None or not requires_part)
        return Turn(key, ts, recall, self, _lock=lock, _queued=queued)

    async def wait_for_lock(self, key: ConversationKey, ts: str) -> tuple[Lock, Recall] | None:
        """Wait in line for the conversation's lock; then what it remembers, read under the lock.
        None while Redis is unreachable."""
        keys = self._keys
        token = uuid.uuid4().hex
        script_keys = [
            keys.queue(key),
            keys.lock(key),
            keys.thread(key),
            keys.channel_reset(key.team_id, key.channel_id),
            keys.not_ours(key),
            keys.channel_remembering_since(key.team_id, key.channel_id),
            keys.viewing(key),
        ]
        args = [ts, repr(float(ts_value(ts))), QUEUE_TTL_SECONDS, token, int(LOCK_TIMEOUT_SECONDS * 1000)]
        head_free_since: float | None = None
        sent = False
        try:
            while True:
                sent = self._guard.up
                reply = await self._guard.run(lambda r: self._wait(keys=script_keys, args=args, client=r))
                taken, head, head_score, locked = reply[:4]
                if taken:
                    raw_state, raw_reset, not_ours, since, viewing = reply[4:9]
                    return self._lock(key, token), self._recall(key, raw_state, raw_reset, not_ours, since, viewing)
                mine_first = head_score is None or float(head_score) >= float(ts_value(ts))
                if not locked and not mine_first:
                    # The lock is free but an earlier message's turn does not take it: gone?
                    now = time.monotonic()
                    head_free_since = head_free_since or now
                    if now - head_free_since > ABANDONED_WAITER_SECONDS:
                        await self._guard.run(lambda r, gone=head: r.zrem(keys.queue(key), gone))
                        head_free_since = None
                else:
                    head_free_since = None
                await asyncio.sleep(LOCK_POLL_SECONDS if mine_first else QUEUED_POLL_SECONDS)
        except RedisUnavailable:
            if sent:
                self._forget_place_later(key, ts, token)
            return None
        except asyncio.CancelledError:
            # Taken just before the cancel: don't leave it to expire.
            with contextlib.suppress(RedisUnavailable, LockError):
                await self._guard.run(lambda _r: self._lock(key, token).release())
            raise

    async def finish(
        self, key: ConversationKey, state: ThreadState | None, *, started_from: Recall, lock: Lock | None
    ) -> bool:
        """See `Turn.finish`."""
        thread_key = self._keys.thread(key)
        mode, expected = ("newer", "") if started_from.raw is None else ("cas", started_from.raw)
        anchor = str(ts_value(state.anchor_ts)) if state else "0"
        token = _token_of(lock)
        staying = ThreadState(stored_at=time.time())
        try:
            stored = await self._guard.run(
                lambda r: self._finish(
                    keys=[thread_key, self._keys.lock(key)],
                    args=[
                        state.encode() if state else "",
                        mode,
                        expected,
                        anchor,
                        self._thread_ttl,
                        token,
                        staying.encode(),
                    ],
                    client=r,
                )
            )
        except RedisUnavailable:
            if state is None:
                self._pending_states.setdefault(thread_key, staying.encode())
            else:
                self._keep_pending_state(thread_key, state)
            if lock is not None:
                self._pending_releases.append(lock)
            return True
        if state is None:
            return False
        self._pending_states.pop(thread_key, None)
        if not stored:
            logger.warning("Conversation %s moved on during this turn: its answer is not chained", key)
        return bool(stored)

    async def leave(self, key: ConversationKey, ts: str, *, lock: Lock | None, queued: bool) -> None:
        """See `Turn.leave`."""
        if lock is None and not queued:
            return
        try:
            if lock is not None:
                with contextlib.suppress(LockError):  # it expired: nothing to release
                    await self._guard.run(lambda _r: lock.release())
            if queued:
                await self._guard.run(lambda r: r.zrem(self._keys.queue(key), ts))
        except RedisUnavailable:
            if lock is not None:
                self._pending_releases.append(lock)

    async def renew(self, lock: Lock, key: ConversationKey) -> None:
        while True:
            await asyncio.sleep(LOCK_TIMEOUT_SECONDS / 3)
            try:
                await self._guard.run(lambda _r: lock.reacquire())
            except RedisUnavailable:
                continue
            except LockError:
                logger.warning("Lost the turn lock of %s; the answer will only be chained if still current", key)
                return

    def local_lock(self, key: ConversationKey) -> asyncio.Lock:
        local, users = self._local_locks.get(key, (asyncio.Lock(), 0))
        self._local_locks[key] = (local, users + 1)
        return local

    def local_lock_done(self, key: ConversationKey) -> None:
        local, users = self._local_locks[key]
        if users > 1:
            self._local_locks[key] = (local, users - 1)
        else:
            del self._local_locks[key]

    def _forget_place_later(self, key: ConversationKey, ts: str, token: str) -> None:
        """A script sent as Redis failed may still run once a hung Redis wakes up, leaving this message
        in line and perhaps holding the lock: both are undone when Redis is back."""
        self._pending_releases.append(self._lock(key, token))
        self._pending_departures.append((self._keys.queue(key), ts))

    def _lock(self, key: ConversationKey, token: str) -> Lock:
        """redis-py's lock object for a lock the scripts took (it renews and releases it)."""
        lock = Lock(self._guard.client, self._keys.lock(key), timeout=LOCK_TIMEOUT_SECONDS, thread_local=False)
        lock.local.token = token.encode()
        return lock

    def _recall(
        self,
        key: ConversationKey,
        raw_state: bytes | None,
        raw_reset: bytes | None,
        not_ours: bytes | None,
        since: bytes | None,
        viewing: bytes | None,
    ) -> Recall:
        thread_key = self._keys.thread(key)
        pending = self._pending_states.get(thread_key)
        pending_reset = self._pending_resets.get(self._keys.channel_reset(key.team_id, key.channel_id), "")
        state = ThreadState.decode(raw_state.decode()) if raw_state is not None else None
        if pending:
            newer = ThreadState.decode(pending)
            if state is None or ts_value(newer.anchor_ts) > ts_value(state.anchor_ts):
                state = newer  # never chain from an id this process has already superseded
        return Recall(
            state=state,
            raw=_text(raw_state),
            channel_reset_ts=latest_ts(_text(raw_reset), pending_reset),
            not_ours=not_ours is not None,
            remembering_since=_text(since),
            viewed_channel_id=_text(viewing),
        )

    def _recall_locally(self, key: ConversationKey) -> Recall:
        """What this process kept while Redis is unreachable."""
        pending = self._pending_states.get(self._keys.thread(key))
        pending_reset = self._pending_resets.get(self._keys.channel_reset(key.team_id, key.channel_id), "")
        state = ThreadState.decode(pending) if pending else None
        return Recall(state=state, raw=None, channel_reset_ts=pending_reset)

    async def _start_remembering(self, team_id: str, channel_id: str) -> None:
        """Note since when Redis remembers a channel: since it began remembering the workspace (first
        start, or after it lost its data). Once per channel; the workspace's note is in another slot."""
        team_key = self._keys.remembering_since(team_id)
        channel_key = self._keys.channel_remembering_since(team_id, channel_id)
        with contextlib.suppress(RedisUnavailable):
            async with self._guard.client.pipeline(transaction=False) as pipe:
                pipe.set(team_key, now_ts(), nx=True, ex=RESET_TTL_SECONDS)
                pipe.get(team_key)
                _, since = await self._guard.run(lambda _r: pipe.execute())
            await self._guard.run(lambda r: r.set(channel_key, since, nx=True, ex=RESET_TTL_SECONDS))

    # De-duplication outside turns (the assistant pane's greeting) --------------------------------
    async def claim_message(self, team_id: str, channel_id: str, ts: str) -> bool:
        """True for the first delivery of a message, across processes; False for every repeat."""
        seen_key = self._keys.seen(team_id, channel_id, ts)
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

    # What a turn learns about a thread outside the two moments ------------------------------------
    async def mark_not_ours(self, key: ConversationKey) -> None:
        """Slack's history shows the bot has no part in this thread: don't ask Slack again for a while."""
        not_ours_key = self._keys.not_ours(key)
        with contextlib.suppress(RedisUnavailable):
            await self._guard.run(lambda r: r.set(not_ours_key, b"1", ex=self._thread_ttl))

    async def mark_participating(self, key: ConversationKey) -> None:
        """Remember the bot is part of a thread without any answer to chain from (Slack's history showed it)."""
        thread_key = self._keys.thread(key)
        state = ThreadState(stored_at=time.time())
        try:
            await self._guard.run(lambda r: r.set(thread_key, state.encode(), nx=True, ex=self._thread_ttl))
        except RedisUnavailable:
            self._pending_states.setdefault(thread_key, state.encode())

    # Resets ---------------------------------------------------------------------------------------
    async def forget_thread(self, key: ConversationKey, reset_ts: str) -> None:
        thread_key = self._keys.thread(key)
        state = ThreadState(stored_at=time.time(), anchor_ts=reset_ts, reset_ts=reset_ts)
        try:
            await self._guard.run(lambda r: r.set(thread_key, state.encode(), ex=self._thread_ttl))
        except RedisUnavailable:
            self._keep_pending_state(thread_key, state)

    async def forget_channel(self, team_id: str, channel_id: str, reset_ts: str) -> None:
        """Forget every conversation of a channel (or DM) at once: one key, whatever the thread count."""
        reset_key = self._keys.channel_reset(team_id, channel_id)
        try:
            await self._guard.run(lambda r: r.set(reset_key, reset_ts, ex=RESET_TTL_SECONDS))
        except RedisUnavailable:
            self._pending_resets[reset_key] = latest_ts(self._pending_resets.get(reset_key, ""), reset_ts)

    # After an outage ------------------------------------------------------------------------------
    def _keep_pending_state(self, thread_key: str, state: ThreadState) -> None:
        current = self._pending_states.get(thread_key)
        if current is None or ts_value(ThreadState.decode(current).anchor_ts) <= ts_value(state.anchor_ts):
            self._pending_states[thread_key] = state.encode()

    async def replay_pending(self) -> None:
        """Write what was kept during an outage; a newer state already in Redis wins."""
        replays = [k for k, replay in self._seen_locally.items() if replay]
        if not (
            self._pending_states
            or self._pending_resets
            or replays
            or self._pending_releases
            or self._pending_departures
        ):
            return
        while self._pending_releases:
            # Otherwise the thread would wait for the lock to expire; a lock since taken by another
            # turn has another token, and release() leaves it alone.
            with contextlib.suppress(LockError):
                await self._guard.run(lambda _r, lock=self._pending_releases[0]: lock.release())
            self._pending_releases.pop(0)
        while self._pending_departures:
            queue_key, member = self._pending_departures[0]
            await self._guard.run(lambda r, k=queue_key, m=member: r.zrem(k, m))
            self._pending_departures.pop(0)
        for reset_key, reset_ts in list(self._pending_resets.items()):
            current = await self._guard.run(lambda r, k=reset_key: r.get(k))
            if current is None or ts_value(current.decode()) < ts_value(reset_ts):
                await self._guard.run(lambda r, k=reset_key, v=reset_ts: r.set(k, v, ex=RESET_TTL_SECONDS))
            self._pending_resets.pop(reset_key, None)
        for thread_key, value in list(self._pending_states.items()):
            anchor = str(ts_value(ThreadState.decode(value).anchor_ts))
            # The finish script without a lock: 'newer' stores it unless Redis holds a later answer.
            await self._guard.run(
                lambda r, k=thread_key, v=value, a=anchor: self._finish(
                    keys=[k, k], args=[v, "newer", "", a, self._thread_ttl, "", ""], client=r
                )
            )
            if self._pending_states.get(thread_key) == value:
                del self._pending_states[thread_key]
        if replays:
            # Single-key commands: redis-py's cluster pipeline sends each to its slot's node.
            async with self._guard.client.pipeline(transaction=False) as pipe:
                for seen_key in replays:
                    pipe.set(seen_key, b"1", nx=True, ex=SEEN_TTL_SECONDS)
                await self._guard.run(lambda _r: pipe.execute())
            for seen_key in replays:
                self._seen_locally[seen_key] = False
        logger.info("Wrote back the memory kept while Redis was unreachable")

    # Usage ----------------------------------------------------------------------------------------
    async def tokens_today(self, team_id: str, user_id: str, day: str) -> int:
        """A person's tokens so far on `day` (the daily budget); 0 while Redis is unreachable. Its own round
        trip: the counter is the person's, in another slot than the conversation's on a cluster."""
        tokens_key = self._keys.tokens(team_id, user_id, day)
        try:
            value = await self._guard.run(lambda r: r.get(tokens_key))
        except RedisUnavailable:
            return 0
        return int(value) if value else 0

    async def record_usage(
        self, key: ConversationKey, *, user_id: str, day: str, total: int, counters: dict[str, int]
    ) -> None:
        """Add a turn's tokens to its conversation's totals and to its speaker's total of `day`: one round trip.
        Counts lost while Redis is away are not replayed (they only inform)."""
        usage_key = self._keys.usage(key)
        day_key = self._keys.tokens(key.team_id, user_id, day)
        # Single-key commands: redis-py's cluster pipeline sends each to its slot's node.
        async with self._guard.client.pipeline(transaction=False) as pipe:
            for name, value in {**counters, "turns": 1}.items():
                pipe.hincrby(usage_key, name, value)
            pipe.expire(usage_key, self._thread_ttl)
            pipe.incrby(day_key, total)
            pipe.expire(day_key, USAGE_DAY_TTL_SECONDS)
            with contextlib.suppress(RedisUnavailable):
                await self._guard.run(lambda _r: pipe.execute())

    # Outside a turn -------------------------------------------------------------------------------
    async def recall(self, key: ConversationKey) -> Recall:
        """What a conversation remembers, read outside a turn (a reset, to forget where its model memory lives)."""
        try:
            raw_state = await self._guard.run(lambda r: r.get(self._keys.thread(key)))
        except RedisUnavailable:
            return self._recall_locally(key)
        return self._recall(key, raw_state, None, None, None, None)

    # Local memory mode ----------------------------------------------------------------------------
    @property
    def guard(self) -> RedisGuard:
        return self._guard

    def transcript(self, key: ConversationKey) -> RedisSession:
        """The Agents SDK session holding a conversation's transcript (local memory mode), with the
        same prefix, team namespacing, TTL and cluster slot as the rest; run its methods through `guard`."""
        return RedisSession(
            f"{self._keys.slot(key.channel_id)}:{key.thread_ts or 'dm'}",
            redis_client=self._guard.client,
            key_prefix=f"{self._keys.prefix}:{key.team_id}:transcript",
            ttl=self._thread_ttl,
        )

    # User names -----------------------------------------------------------------------------------
    async def cached_names(self, team_id: str, user_ids: list[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        keys = [self._keys.name(team_id, u) for u in user_ids]
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
                pipe.set(self._keys.name(team_id, user_id), name, ex=NAME_TTL_SECONDS)
            with contextlib.suppress(RedisUnavailable):
                await self._guard.run(lambda _r: pipe.execute())

    # The assistant pane ---------------------------------------------------------------------------
    async def remember_viewed_channel(self, key: ConversationKey, channel_id: str) -> None:
        """The channel the person has open beside their DM with the bot (a hint for the model, safe to lose)."""
        viewing_key = self._keys.viewing(key)
        with contextlib.suppress(RedisUnavailable):
            await self._guard.run(lambda r: r.set(viewing_key, channel_id, ex=self._thread_ttl))


def _token_of(lock: Lock | None) -> str:
    token = lock.local.token if lock is not None else None
    return token.decode() if isinstance(token, bytes) else (token or "")
