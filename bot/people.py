"""Display names of Slack users, from `users.info`, cached in Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from .memory import Memory

logger = logging.getLogger(__name__)


class People:
    def __init__(self, client: AsyncWebClient, memory: Memory) -> None:
        self._client = client
        self._memory = memory

    async def names(self, team_id: str, user_ids: Iterable[str]) -> dict[str, str]:
        """Names for the ids that Slack knows; an id missing from the result is shown as an id."""
        wanted = list(dict.fromkeys(u for u in user_ids if u))
        names = await self._memory.cached_names(team_id, wanted)
        missing = [u for u in wanted if u not in names]
        if missing:
            looked_up = await asyncio.gather(*(self._look_up(u) for u in missing))
            found = {u: n for u, n in zip(missing, looked_up, strict=True) if n}
            await self._memory.cache_names(team_id, found)
            names.update(found)
        return names

    async def _look_up(self, user_id: str) -> str | None:
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            logger.info("users.info %s failed: %s", user_id, error.response.get("error"))
            return None
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        return profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
