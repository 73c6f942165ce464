"""What the bot may know about a conversation (`conversations.info`), asked once per channel per turn."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelFacts:
    id: str
    name: str
    kind: str  # public_channel, private_channel, mpim or im (the Real-time Search API's channel types)
    is_member: bool  # the bot is in it


def channel_kind(channel: dict[str, Any]) -> str:
    """The conversation object's flags as one type (docs.slack.dev/reference/objects/conversation-object)."""
    if channel.get("is_im"):
        return "im"
    if channel.get("is_mpim"):
        return "mpim"
    if channel.get("is_private") or channel.get("is_group"):
        return "private_channel"
    return "public_channel"


class ChannelLookup:
    """`conversations.info` with a cache for one turn; None when Slack will not describe the channel to the bot
    (`channel_not_found` for a private channel it is not in, or a scope it lacks): treated as not readable."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._known: dict[str, ChannelFacts | None] = {}
        self.refusals: dict[str, str] = {}  # channel id -> Slack's error code

    async def facts(self, channel_id: str) -> ChannelFacts | None:
        if channel_id not in self._known:
            self._known[channel_id] = await self._look_up(channel_id)
        return self._known[channel_id]

    async def _look_up(self, channel_id: str) -> ChannelFacts | None:
        try:
            response = await self._client.conversations_info(channel=channel_id)
        except SlackApiError as error:
            code = str(error.response.get("error"))
            self.refusals[channel_id] = code
            logger.info("conversations.info %s: %s", channel_id, code)
            return None
        channel = response.get("channel") or {}
        return ChannelFacts(
            id=channel_id,
            name=str(channel.get("name") or ""),
            kind=channel_kind(channel),
            is_member=bool(channel.get("is_member")),
        )
