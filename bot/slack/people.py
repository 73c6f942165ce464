"""Display names of Slack users, from `users.info`, cached in Redis."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.state.memory import Memory

logger = logging.getLogger(__name__)


# Names change rarely: Redis keeps them a day (shared by processes), each process a few minutes more
# so that a turn between the same people costs no Redis round trip for them.
LOCAL_NAME_SECONDS = 300.0
_LOCAL_NAMES_MAX = 10_000


class People:
    def __init__(self, client: AsyncWebClient, memory: Memory) -> None:
        self._client = client
        self._memory = memory
        self._local: dict[tuple[str, str], tuple[str, float]] = {}  # (team, user) -> (name, known until)

    async def names(self, team_id: str, user_ids: Iterable[str]) -> dict[str, str]:
        """Names for the ids that Slack knows; an id missing from the result is shown as an id."""
        wanted = list(dict.fromkeys(u for u in user_ids if u))
        names = self._known_locally(team_id, wanted)
        unknown = [u for u in wanted if u not in names]
        if not unknown:
            return names
        cached = await self._memory.names.cached(team_id, unknown)
        missing = [u for u in unknown if u not in cached]
        if missing:
            looked_up = await asyncio.gather(*(self._look_up(u) for u in missing))
            found = {u: n for u, n in zip(missing, looked_up, strict=True) if n}
            await self._memory.names.cache(team_id, found)
            cached.update(found)
        self._keep_locally(team_id, cached)
        return {**names, **cached}

    def _known_locally(self, team_id: str, user_ids: list[str]) -> dict[str, str]:
        now = time.monotonic()
        known = {u: self._local.get((team_id, u)) for u in user_ids}
        return {u: entry[0] for u, entry in known.items() if entry is not None and entry[1] > now}

    def _keep_locally(self, team_id: str, names: dict[str, str]) -> None:
        if len(self._local) > _LOCAL_NAMES_MAX:
            self._local.clear()
        until = time.monotonic() + LOCAL_NAME_SECONDS
        self._local.update({(team_id, u): (n, until) for u, n in names.items()})

    async def _look_up(self, user_id: str) -> str | None:
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            logger.info("users.info %s failed: %s", user_id, error.response.get("error"))
            return None
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        return profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name")
