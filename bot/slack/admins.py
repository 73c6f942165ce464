"""Who administers the bot: the workspace's admins and owners (`users.info`'s `is_admin`, `is_owner`) and the
user ids in `ADMIN_USER_IDS`. Asked of Slack at most every 10 minutes per person and process."""

from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

ADMIN_CHECK_SECONDS = 600.0


class Admins:
    def __init__(self, client: AsyncWebClient, admin_user_ids: frozenset[str] = frozenset()) -> None:
        self._client = client
        self._named = admin_user_ids
        self._known: dict[str, tuple[bool, float]] = {}  # user id -> is admin, until

    async def is_admin(self, user_id: str) -> bool:
        if user_id in self._named:
            return True
        now = time.monotonic()
        known = self._known.get(user_id)
        if known is not None and known[1] > now:
            return known[0]
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            logger.info("users.info %s failed: %s; not shown as an admin", user_id, error.response.get("error"))
            return False
        user = response.get("user") or {}
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._known[user_id] = (admin, now + ADMIN_CHECK_SECONDS)
        return admin
