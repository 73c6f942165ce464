"""What the access rules keep in Redis: the members of the user groups they name (shared by processes for
10 minutes), and who was told they are outside the rules, where, today (so they are told once a day)."""

from __future__ import annotations

import json

from bot.state.keys import ACCESS_NOTE_TTL_SECONDS, USER_GROUP_TTL_SECONDS, Keys
from bot.state.redis_link import RedisGuard, RedisUnavailable


class AccessMarks:
    def __init__(self, guard: RedisGuard, keys: Keys) -> None:
        self._guard = guard
        self._keys = keys

    async def first_note_today(self, team_id: str, place: str, user_id: str) -> bool:
        """True the first time today someone is told, in `place`, that the bot does not answer them there.
        While Redis is unreachable: False (better no note than one per message)."""
        key = self._keys.access_noted(team_id, place, user_id)
        try:
            return bool(await self._guard.run(lambda r: r.set(key, b"1", nx=True, ex=ACCESS_NOTE_TTL_SECONDS)))
        except RedisUnavailable:
            return False

    async def group_members(self, team_id: str, group_id: str) -> frozenset[str] | None:
        """The members another process (or this one) read from Slack lately; None when nobody did."""
        key = self._keys.user_group(team_id, group_id)
        try:
            raw = await self._guard.run(lambda r: r.get(key))
        except RedisUnavailable:
            return None
        return frozenset(json.loads(raw)) if raw else None

    async def keep_group_members(self, team_id: str, group_id: str, members: frozenset[str]) -> None:
        key = self._keys.user_group(team_id, group_id)
        value = json.dumps(sorted(members))
        try:
            await self._guard.run(lambda r: r.set(key, value, ex=USER_GROUP_TTL_SECONDS))
        except RedisUnavailable:
            return
