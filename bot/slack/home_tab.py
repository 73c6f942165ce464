"""The app's Home tab: one `home` view per person, built from sections that features add, published with
`views.publish` when the person opens the tab (`app_home_opened` with `tab: home`) or when what it shows changes.

A section is an async function of (team id, user id) returning Block Kit blocks; a section that fails is left out
and logged, so one broken feature never blanks the tab. Slack allows at most 100 blocks in a view
(docs.slack.dev/reference/views/home-tab-views: "Maximum of 100 blocks").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

Block = dict[str, Any]
HomeSection = Callable[[str, str], Awaitable[list[Block]]]

MAX_VIEW_BLOCKS = 100


class HomeTab:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._sections: list[HomeSection] = []

    def add_section(self, section: HomeSection) -> None:
        self._sections.append(section)

    async def blocks_for(self, team_id: str, user_id: str) -> list[Block]:
        blocks: list[Block] = []
        for section in self._sections:
            try:
                found = await section(team_id, user_id)
            except Exception:
                logger.exception("A Home tab section failed for %s in %s; left out", user_id, team_id)
                continue
            if found:
                blocks.extend([{"type": "divider"}] if blocks else [])
                blocks.extend(found)
        if not blocks:
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Nothing to show here yet."}}]
        return blocks[:MAX_VIEW_BLOCKS]

    async def publish(self, team_id: str, user_id: str) -> None:
        """Show the person their Home tab as it is now."""
        view = {"type": "home", "blocks": await self.blocks_for(team_id, user_id)}
        try:
            await self._client.views_publish(user_id=user_id, view=view)
        except SlackApiError as error:
            logger.warning("Could not publish the Home tab of %s: %s", user_id, error.response.get("error"))
