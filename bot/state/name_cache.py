"""People's display names, cached in Redis for a day (`bot.slack.people` asks Slack for the rest)."""

from __future__ import annotations

import contextlib

from bot.state.keys import NAME_TTL_SECONDS, Keys
from bot.state.redis_link import RedisGuard, RedisUnavailable


class NameCache:
    def __init__(self, guard: RedisGuard, keys: Keys) -> None:
        self._guard = guard
        self._keys = keys

    async def cached(self, team_id: str, user_ids: list[str]) -> dict[str, str]:
        if not user_ids:
            return {}
        keys = [self._keys.name(team_id, u) for u in user_ids]
        try:
            values = await self._guard.run(lambda r: r.mget(keys))
        except RedisUnavailable:
            return {}
        return {u: v.decode() for u, v in zip(user_ids, values, strict=True) if v is not None}

    async def cache(self, team_id: str, names: dict[str, str]) -> None:
        if not names:
            return
        async with self._guard.client.pipeline(transaction=False) as pipe:
            for user_id, name in names.items():
                pipe.set(self._keys.name(team_id, user_id), name, ex=NAME_TTL_SECONDS)
            with contextlib.suppress(RedisUnavailable):
                await self._guard.run(lambda _r: pipe.execute())
