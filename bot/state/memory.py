"""Thread memory in Redis, as the two moments of a turn: `Memory.begin_turn` and `Turn.finish`.

Beginning a turn is one Lua script: claim the message (de-duplication), read what the conversation
remembers, and take a place in its line (and the lock, if free). Finishing is one more: store the new
state if the conversation has not moved on, and let the next turn go. Waiting for the lock is the only
other round trip a turn needs. Key names live in `keys`. While Redis is unreachable, turns are ordered by an
in-process lock and what could not be written is kept (`outage`) and written back once Redis answers again,
newest turn winning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from agents.memory import Session
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

from bot.shared.conversation_key import ConversationKey
from bot.state.keys import LOCK_TIMEOUT_SECONDS, QUEUE_TTL_SECONDS, RESET_TTL_SECONDS, SEEN_TTL_SECONDS, Keys
from bot.state.name_cache import NameCache
from bot.state.notes import notes_versions
from bot.state.outage import LocalLocks, OutageLedger
from bot.state.redis_link import RedisGuard, RedisUnavailable, lock_token
from bot.state.scripts import BEGIN_SCRIPT, FINISH_SCRIPT, WAIT_SCRIPT
from bot.state.thread_state import Recall, ThreadState, latest_ts, now_ts, ts_value
from bot.state.transcript import open_transcript
from bot.state.turn_place import Turn
from bot.state.usage_counters import UsageCounters

logger = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 0.02  # the next in line
QUEUED_POLL_SECONDS = 0.2  # those behind it: a burst in one thread must not become a storm of Redis calls
# A claim that timed out waits this long for Redis to come back and say whose it is (a probe a second).
RECHECK_SECONDS = 2.5
# A waiter at the head of the queue that does not take a free lock for this long is gone.
ABANDONED_WAITER_SECONDS = 2.0


def _text(value: bytes | None) -> str:
    return value.decode() if value is not None else ""


class Memory:
    def __init__(self, guard: RedisGuard, *, prefix: str, thread_ttl_seconds: int, hash_tags: bool = False) -> None:
        self._guard = guard
        self._keys = Keys(prefix, hash_tags=hash_tags)
        self._thread_ttl = thread_ttl_seconds
        self._begin = guard.client.register_script(BEGIN_SCRIPT)
        self._wait = guard.client.register_script(WAIT_SCRIPT)
        self._finish = guard.client.register_script(FINISH_SCRIPT)
        self._outage = OutageLedger()  # written while Redis was away, replayed when it is back
        self.usage = UsageCounters(guard, self._keys, thread_ttl_seconds=thread_ttl_seconds)
        self.names = NameCache(guard, self._keys)
        self.local_locks = LocalLocks()  # turns in order while Redis is unreachable

    # The turn -------------------------------------------------------------------------------------
    async def begin_turn(
        self, key: ConversationKey, ts: str, *, requires_part: bool, joins: bool, answers: bool, notes_of: str = ""
    ) -> Turn | None:
        """Claim the message and read what its conversation remembers, in one round trip; None for a
        repeat delivery (across processes).

        `requires_part`: the message is answered only if the bot is already part of the thread, so it
        neither joins nor queues when Redis knows nothing of the thread. `joins`: from now on the bot
        is part of the thread. `answers`: take a place in the conversation's line, and the lock if free.
        """
        seen_key = self._keys.seen(key.team_id, key.channel_id, ts)
        async with self._outage.claiming(seen_key) as first_here:
            if not first_here:
                return None
            return await self._begin_claimed(
                key, ts, notes_of, requires_part=requires_part, joins=joins, answers=answers
            )

    async def _begin_claimed(
        self, key: ConversationKey, ts: str, notes_of: str, *, requires_part: bool, joins: bool, answers: bool
    ) -> Turn | None:
        """`begin_turn` for the one delivery of a message this process is asking Redis about; `notes_of`: the
        speaker whose long-term notes' version the script reads too, with the channel's ("" for none)."""
        keys = self._keys
        seen_key = keys.seen(key.team_id, key.channel_id, ts)
        token = uuid.uuid4().hex
        joined_with = ThreadState(stored_at=time.time()).encode() if joins else ""
        sent = self._guard.up
        try:
            reply = await self._guard.run(
                ask := lambda r: self._begin(
                    keys=[
                        seen_key,
                        keys.thread(key),
                        keys.channel_reset(key.team_id, key.channel_id),
                        keys.not_ours(key),
                        keys.channel_remembering_since(key.team_id, key.channel_id),
                        keys.viewing(key),
                        keys.queue(key),
                        keys.lock(key),
                        *keys.notes_in_begin(key, notes_of),
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
        except RedisUnavailable as error:
            # Sent as Redis stalled, the script may still run once it wakes, claiming the message while its
            # twin delivery in another process finds the claim: ask again with the same token, if Redis is
            # back soon, rather than answer twice.
            reply = await self._guard.run_again_when_back(ask, within=RECHECK_SECONDS) if error.unanswered else None
        if reply is None:
            self._outage.remember_seen(seen_key, replay=True)
            if answers and sent:
                self._forget_place_later(key, ts, token)
            if joins and not requires_part:
                self._outage.keep_joined(keys.thread(key), joined_with)
            return Turn(key, ts, self._recall_locally(key), self)
        self._outage.remember_seen(seen_key, replay=False)
        if not reply[0]:
            return None
        raw_state, raw_reset, not_ours, since, viewing, taken = reply[1:7]
        recall = self._recall(key, raw_state, raw_reset, not_ours, since, viewing)
        recall = recall.with_notes_versions(notes_versions(reply[10:], notes_of))
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
        token = lock_token(lock)
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
                self._outage.keep_joined(thread_key, staying.encode())
            else:
                self._outage.keep_state(thread_key, state)
            if lock is not None:
                self._outage.release_later(lock)
            return True
        if state is None:
            return False
        self._outage.states.pop(thread_key, None)
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
                self._outage.release_later(lock)

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

    def _forget_place_later(self, key: ConversationKey, ts: str, token: str) -> None:
        """A script sent as Redis failed may still run once a hung Redis wakes up, leaving this message
        in line and perhaps holding the lock: both are undone when Redis is back."""
        self._outage.release_later(self._lock(key, token))
        self._outage.leave_line_later(self._keys.queue(key), ts)

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
        pending = self._outage.states.get(thread_key)
        pending_reset = self._outage.resets.get(self._keys.channel_reset(key.team_id, key.channel_id), "")
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
        pending = self._outage.states.get(self._keys.thread(key))
        pending_reset = self._outage.resets.get(self._keys.channel_reset(key.team_id, key.channel_id), "")
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
        async with self._outage.claiming(seen_key) as first_here:
            if not first_here:
                return False
            try:
                claimed = await self._guard.run(lambda r: r.set(seen_key, b"1", nx=True, ex=SEEN_TTL_SECONDS))
            except RedisUnavailable:
                self._outage.remember_seen(seen_key, replay=True)
                return True
            self._outage.remember_seen(seen_key, replay=False)
            return bool(claimed)

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
            self._outage.keep_joined(thread_key, state.encode())

    # Resets ---------------------------------------------------------------------------------------
    async def forget_thread(self, key: ConversationKey, reset_ts: str) -> None:
        thread_key = self._keys.thread(key)
        state = ThreadState(stored_at=time.time(), anchor_ts=reset_ts, reset_ts=reset_ts)
        try:
            await self._guard.run(lambda r: r.set(thread_key, state.encode(), ex=self._thread_ttl))
        except RedisUnavailable:
            self._outage.keep_state(thread_key, state)

    async def forget_channel(self, team_id: str, channel_id: str, reset_ts: str) -> None:
        """Forget every conversation of a channel (or DM) at once: one key, whatever the thread count."""
        reset_key = self._keys.channel_reset(team_id, channel_id)
        try:
            await self._guard.run(lambda r: r.set(reset_key, reset_ts, ex=RESET_TTL_SECONDS))
        except RedisUnavailable:
            self._outage.keep_reset(reset_key, reset_ts)

    # After an outage ------------------------------------------------------------------------------
    async def replay_pending(self) -> None:
        """Write what was kept during an outage (called when Redis answers again)."""
        await self._outage.replay(self._guard, self._store_if_newer)

    async def _store_if_newer(self, thread_key: str, value: str) -> None:
        """The finish script without a lock: 'newer' stores it unless Redis holds a later answer."""
        anchor = str(ts_value(ThreadState.decode(value).anchor_ts))
        await self._guard.run(
            lambda r: self._finish(
                keys=[thread_key, thread_key], args=[value, "newer", "", anchor, self._thread_ttl, "", ""], client=r
            )
        )

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

    def transcript(self, key: ConversationKey) -> Session:
        """The Agents SDK session holding a conversation's transcript (local memory mode), with the
        same prefix, team namespacing, TTL and cluster slot as the rest; run its methods through `guard`."""
        session_id = f"{self._keys.slot(key.channel_id)}:{key.thread_ts or 'dm'}"
        key_prefix = f"{self._keys.prefix}:{key.team_id}:transcript"
        return open_transcript(self._guard.client, session_id, key_prefix=key_prefix, ttl=self._thread_ttl)

    # The assistant pane ---------------------------------------------------------------------------
    async def remember_viewed_channel(self, key: ConversationKey, channel_id: str) -> None:
        """The channel the person has open beside their DM with the bot (a hint for the model, safe to lose)."""
        viewing_key = self._keys.viewing(key)
        with contextlib.suppress(RedisUnavailable):
            await self._guard.run(lambda r: r.set(viewing_key, channel_id, ex=self._thread_ttl))
