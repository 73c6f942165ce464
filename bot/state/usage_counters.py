"""Token counters in Redis: per conversation, and per person per UTC day (the daily budget).

Counts lost while Redis is away are not replayed: they only inform.
"""

from __future__ import annotations

import contextlib

from bot.shared.conversation_key import ConversationKey
from bot.state.keys import USAGE_DAY_TTL_SECONDS, Keys
from bot.state.redis_link import RedisGuard, RedisUnavailable


class UsageCounters:
    def __init__(self, guard: RedisGuard, keys: Keys, *, thread_ttl_seconds: int) -> None:
        self._guard = guard
        self._keys = keys
        self._thread_ttl = thread_ttl_seconds

    async def tokens_today(self, team_id: str, user_id: str, day: str) -> int:
        """A person's tokens so far on `day` (the daily budget); 0 while Redis is unreachable. Its own round
        trip: the counter is the person's, in another slot than the conversation's on a cluster."""
        tokens_key = self._keys.tokens(team_id, user_id, day)
        try:
            value = await self._guard.run(lambda r: r.get(tokens_key))
        except RedisUnavailable:
            return 0
        return int(value) if value else 0

    async def record(
        self, key: ConversationKey, *, user_id: str, day: str, total: int, counters: dict[str, int]
    ) -> None:
        """Add a turn's tokens to its conversation's totals and to its speaker's total of `day`: one round trip."""
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
