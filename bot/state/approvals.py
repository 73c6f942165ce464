"""Paused runs waiting for a person's approval, in Redis: any process can pick one up when a button is clicked.

A request is a JSON record (`PendingApproval`) under its own key. It is decided once: `claim` takes it away in one
atomic step, so a double click, or clicks reaching two processes, resume the run once. A sorted set holds when each
request expires; every process sweeps it, and the one whose claim wins marks the request expired in Slack. The
conversation keeps a note of the request (`approval_waiting`) while it waits, so later messages learn of it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.shared.conversation_key import ConversationKey
from bot.state.keys import APPROVAL_AFTERLIFE_SECONDS, Keys
from bot.state.redis_link import RedisGuard

# KEYS: the request, its decided copy. Returns the request and leaves a decided copy for late clicks.
_CLAIM = """
local value = redis.call('GET', KEYS[1])
if not value then return false end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return value
"""


@dataclass(frozen=True)
class PendingApproval:
    """Everything needed to go on with a paused turn, in any process, after any restart."""

    id: str
    team_id: str
    channel_id: str
    thread_ts: str  # the conversation's thread ("" for a DM's running conversation)
    message: dict[str, Any]  # the message being answered (IncomingMessage's fields)
    context: dict[str, Any]  # the turn's context (TurnContext's fields)
    state: str  # the Agents SDK's serialized RunState
    calls: list[dict[str, Any]]  # the calls waiting (AwaitingCall's fields)
    plan: dict[str, Any]  # how the run was made (RunPlan's fields), for the memory to keep the turn
    how: str  # how the context was given (chained, rebuilt, …)
    recall_raw: str | None  # the conversation's memory when the turn began: unchanged, the turn is remembered
    asker: str  # the person who asked
    approvers: list[str]  # who may decide; empty: only the asker
    expires_at: float
    request_ts: str = ""  # the message with the buttons
    text_before: str = ""  # what the model wrote before the call (already in the thread)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.team_id, self.channel_id, self.thread_ts)

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, raw: bytes | str) -> PendingApproval:
        return cls(**json.loads(raw))


def new_approval_id() -> str:
    return uuid.uuid4().hex


class ApprovalStore:
    def __init__(self, guard: RedisGuard, keys: Keys, *, ttl_seconds: float) -> None:
        self._guard = guard
        self._keys = keys
        self.ttl_seconds = ttl_seconds
        self._claim = guard.client.register_script(_CLAIM)

    async def save(self, pending: PendingApproval) -> None:
        """Keep the request until it expires (and a day more, to tell late clicks); raises RedisUnavailable."""
        keys = self._keys
        seconds = max(1, int(pending.expires_at - time.time()) + APPROVAL_AFTERLIFE_SECONDS)
        member = f"{pending.team_id}:{pending.id}"
        await self._guard.run(lambda r: r.set(keys.approval(pending.team_id, pending.id), pending.encode(), ex=seconds))
        await self._guard.run(
            lambda r: r.set(keys.approval_waiting(pending.key), pending.id, ex=max(1, int(self.ttl_seconds)))
        )
        await self._guard.run(lambda r: r.zadd(keys.approvals_expiring(), {member: pending.expires_at}))

    async def peek(self, team_id: str, approval_id: str) -> PendingApproval | None:
        raw = await self._guard.run(lambda r: r.get(self._keys.approval(team_id, approval_id)))
        return PendingApproval.decode(raw) if raw else None

    async def outcome(self, team_id: str, approval_id: str) -> str:
        """What became of a request already decided ("approved by <@U…>", "expired", …); "" if unknown."""
        raw = await self._guard.run(lambda r: r.get(self._keys.approval_decided(team_id, approval_id)))
        return raw.decode() if raw else ""

    async def claim(self, team_id: str, approval_id: str, outcome: str) -> PendingApproval | None:
        """Take the request to decide it: exactly one caller gets it, across processes."""
        keys = [self._keys.approval(team_id, approval_id), self._keys.approval_decided(team_id, approval_id)]
        raw = await self._guard.run(
            lambda r: self._claim(keys=keys, args=[outcome, APPROVAL_AFTERLIFE_SECONDS], client=r)
        )
        if not raw:
            return None
        pending = PendingApproval.decode(raw)
        member = f"{team_id}:{approval_id}"
        await self._guard.run(lambda r: r.zrem(self._keys.approvals_expiring(), member))
        return pending

    async def done_waiting(self, pending: PendingApproval) -> None:
        """The conversation no longer waits on this request (it was decided or it expired)."""
        waiting_key = self._keys.approval_waiting(pending.key)
        current = await self._guard.run(lambda r: r.get(waiting_key))
        if current is not None and current.decode() == pending.id:
            await self._guard.run(lambda r: r.delete(waiting_key))

    async def waiting_in(self, key: ConversationKey) -> str:
        """The id of the request the conversation waits on ("" when none)."""
        raw = await self._guard.run(lambda r: r.get(self._keys.approval_waiting(key)))
        return raw.decode() if raw else ""

    async def expired(self, now: float | None = None) -> list[tuple[str, str]]:
        """(team id, approval id) of requests past their time, soonest first (at most 50 a sweep)."""
        now = time.time() if now is None else now
        members = await self._guard.run(
            lambda r: r.zrangebyscore(self._keys.approvals_expiring(), 0, now, start=0, num=50)
        )
        found = []
        for member in members:
            team_id, _, approval_id = member.decode().partition(":")
            found.append((team_id, approval_id))
        return found
