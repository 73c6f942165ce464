"""Token counters in Redis: per conversation, and per UTC day for the workspace (by person, channel, model and the
turns' outcomes), which the daily budgets and the usage view read.

A day's counters are one hash per workspace and day (one cluster slot), kept 8 days. Counts lost while Redis is
away are not replayed: they only inform.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.shared.conversation_key import ConversationKey
from bot.state.keys import USAGE_DAY_TTL_SECONDS, Keys
from bot.state.redis_link import RedisGuard, RedisUnavailable

TOKEN_KINDS = ("input", "cached", "output")


@dataclass(frozen=True)
class SpentToday:
    """Tokens (input and output) spent so far today, by the person, in the channel and in the workspace."""

    user: int = 0
    channel: int = 0
    workspace: int = 0


@dataclass(frozen=True)
class TurnCount:
    """One answered turn's share of its day: who, where, which model, how, and its tokens."""

    user_id: str
    channel_id: str
    model: str
    outcome: str
    tokens: Mapping[str, int]  # input, cached, output

    @property
    def total(self) -> int:
        return self.tokens.get("input", 0) + self.tokens.get("output", 0)


@dataclass
class DayUsage:
    """A day's counters, read back: tokens by person, channel and model (each split by model and kind)."""

    by_user: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # user -> model -> kind -> n
    by_channel: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Mapping[bytes, bytes]) -> DayUsage:
        usage = cls()
        for raw_name, raw_value in raw.items():
            name, value = raw_name.decode(), int(raw_value)
            if name.startswith("o:"):
                usage.outcomes[name[2:]] = usage.outcomes.get(name[2:], 0) + value
                continue
            if not name.startswith(("u:", "c:")):
                continue
            kind_of_row, who, rest = name.split(":", 2)
            model, kind = rest.rsplit(":", 1)  # a model name may itself hold colons (fine-tuned models)
            table = usage.by_user if kind_of_row == "u" else usage.by_channel
            per_model = table.setdefault(who, {}).setdefault(model, {})
            per_model[kind] = per_model.get(kind, 0) + value
        return usage

    def merge(self, other: DayUsage) -> None:
        for mine, theirs in ((self.by_user, other.by_user), (self.by_channel, other.by_channel)):
            for who, models in theirs.items():
                for model, kinds in models.items():
                    target = mine.setdefault(who, {}).setdefault(model, {})
                    for kind, value in kinds.items():
                        target[kind] = target.get(kind, 0) + value
        for outcome, value in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + value

    def by_model(self) -> dict[str, dict[str, int]]:
        models: dict[str, dict[str, int]] = {}
        for per_model in self.by_user.values():
            for model, kinds in per_model.items():
                target = models.setdefault(model, {})
                for kind, value in kinds.items():
                    target[kind] = target.get(kind, 0) + value
        return models


class UsageCounters:
    def __init__(self, guard: RedisGuard, keys: Keys, *, thread_ttl_seconds: int) -> None:
        self._guard = guard
        self._keys = keys
        self._thread_ttl = thread_ttl_seconds

    async def spent_today(self, team_id: str, day: str, *, user_id: str, channel_id: str) -> SpentToday:
        """What the daily budgets count, in one round trip (one HMGET); nothing spent while Redis is unreachable."""
        day_key = self._keys.usage_day(team_id, day)
        fields = [f"t:u:{user_id}", f"t:c:{channel_id}", "t:w"]
        try:
            values = await self._guard.run(lambda r: r.hmget(day_key, fields))
        except RedisUnavailable:
            return SpentToday()
        user, channel, workspace = (int(v) if v else 0 for v in values)
        return SpentToday(user=user, channel=channel, workspace=workspace)

    async def record(self, key: ConversationKey, *, day: str, turn: TurnCount, counters: dict[str, int]) -> None:
        """Add a turn's tokens to its conversation's totals and to its day's counters: one round trip."""
        usage_key = self._keys.usage(key)
        day_key = self._keys.usage_day(key.team_id, day)
        # Single-key commands: redis-py's cluster pipeline sends each to its slot's node.
        async with self._guard.client.pipeline(transaction=False) as pipe:
            for name, value in {**counters, "turns": 1}.items():
                pipe.hincrby(usage_key, name, value)
            pipe.expire(usage_key, self._thread_ttl)
            for name, value in day_fields(turn).items():
                pipe.hincrby(day_key, name, value)
            pipe.expire(day_key, USAGE_DAY_TTL_SECONDS)
            with contextlib.suppress(RedisUnavailable):
                await self._guard.run(lambda _r: pipe.execute())

    async def count_failure(self, team_id: str, day: str) -> None:
        """A turn that failed counts among the day's outcomes (its tokens, if any, are not known)."""
        day_key = self._keys.usage_day(team_id, day)
        async with self._guard.client.pipeline(transaction=False) as pipe:
            pipe.hincrby(day_key, "o:failed", 1)
            pipe.expire(day_key, USAGE_DAY_TTL_SECONDS)
            with contextlib.suppress(RedisUnavailable):
                await self._guard.run(lambda _r: pipe.execute())

    async def days(self, team_id: str, days: list[str]) -> list[DayUsage]:
        """The counters of each of `days` (empty while Redis is unreachable): one round trip."""
        async with self._guard.client.pipeline(transaction=False) as pipe:
            for day in days:
                pipe.hgetall(self._keys.usage_day(team_id, day))
            try:
                raw = await self._guard.run(lambda _r: pipe.execute())
            except RedisUnavailable:
                return [DayUsage() for _ in days]
        return [DayUsage.parse(r or {}) for r in raw]


def day_fields(turn: TurnCount) -> dict[str, int]:
    """The hash fields a turn adds to: budget totals (t:), tokens by person (u:) and channel (c:) per model and
    kind, and its outcome (o:)."""
    fields = {f"t:u:{turn.user_id}": turn.total, f"t:c:{turn.channel_id}": turn.total, "t:w": turn.total}
    for kind in TOKEN_KINDS:
        value = turn.tokens.get(kind, 0)
        fields[f"u:{turn.user_id}:{turn.model}:{kind}"] = value
        fields[f"c:{turn.channel_id}:{turn.model}:{kind}"] = value
    fields[f"o:{turn.outcome}"] = 1
    return fields
