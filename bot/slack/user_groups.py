"""Members of Slack user groups (`usergroups.users.list`), for the access rules: kept in Redis for 10 minutes
(shared by processes) and in the process as long, so a turn seldom waits for either."""

from __future__ import annotations

import asyncio
import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.state.access_marks import AccessMarks
from bot.state.keys import USER_GROUP_TTL_SECONDS

logger = logging.getLogger(__name__)

FAILED_LOOKUP_RETRY_SECONDS = 60.0  # a group Slack would not list is not asked for on every message


class UserGroups:
    def __init__(self, client: AsyncWebClient, marks: AccessMarks) -> None:
        self._client = client
        self._marks = marks
        self._local: dict[tuple[str, str], tuple[frozenset[str], float]] = {}  # (team, group) -> members, until
        self._looking_up: dict[tuple[str, str], asyncio.Future[frozenset[str]]] = {}  # one lookup at a time

    async def members(self, team_id: str, group_ids: frozenset[str]) -> frozenset[str]:
        """Everyone in any of `group_ids`. A group Slack will not list (missing `usergroups:read`, a deleted
        group) counts as empty: the access rules fail closed, and the log says why."""
        found = await asyncio.gather(*(self._members_of(team_id, g) for g in sorted(group_ids)))
        return frozenset().union(*found)

    async def _members_of(self, team_id: str, group_id: str) -> frozenset[str]:
        local = self._local.get((team_id, group_id))
        if local is not None and local[1] > time.monotonic():
            return local[0]
        key = (team_id, group_id)
        if key not in self._looking_up:  # messages arriving together (a mention comes as two events) share it
            self._looking_up[key] = asyncio.ensure_future(self._look_up(team_id, group_id))
            self._looking_up[key].add_done_callback(lambda _f: self._looking_up.pop(key, None))
        return await asyncio.shield(self._looking_up[key])

    async def _look_up(self, team_id: str, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        local = self._local.get((team_id, group_id))
        members = await self._marks.group_members(team_id, group_id)
        if members is None:
            members = await self._ask_slack(group_id)
            if members is None:  # the last known members, if any; Slack is asked again in a minute
                members = local[0] if local is not None else frozenset()
                self._local[(team_id, group_id)] = (members, now + FAILED_LOOKUP_RETRY_SECONDS)
                return members
            await self._marks.keep_group_members(team_id, group_id, members)
        self._local[(team_id, group_id)] = (members, now + USER_GROUP_TTL_SECONDS)
        return members

    async def _ask_slack(self, group_id: str) -> frozenset[str] | None:
        try:
            response = await self._client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as error:
            logger.warning(
                "Could not list the members of user group %s (%s): its members are not let in until Slack does",
                group_id,
                error.response.get("error"),
            )
            return None
        return frozenset(str(u) for u in response.get("users") or ())
