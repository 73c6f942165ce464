"""Searching the workspace as the person asking: Slack's Real-time Search API (`assistant.search.context`).

With a bot token Slack searches as the person whose message event carried the `action_token`, and returns only
what they may see (docs.slack.dev/apis/web-api/real-time-search-api). The place the answer goes may have a wider
audience than the asker, so the channel types searched depend on the place, and every result's channel is
checked again here (`conversations.info`) before the model sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.shared.quoted import SEARCH_SCOPE, QuotedMessage, SearchFound
from bot.slack.channels import ChannelLookup
from bot.slack.client import without_rate_limit_retries

logger = logging.getLogger(__name__)

RESULTS_PER_SEARCH = 10  # the method allows up to 20 a page; ten quoted messages are plenty for one answer
# The channel types a bot token may search, and the scope each needs. The method page lists only
# search:read.public (with .files and .users) for bot tokens; .private, .im and .mpim are user-token scopes
# (docs.slack.dev/reference/methods/assistant.search.context, "Scopes").
BOT_TOKEN_CHANNEL_TYPES = {"public_channel": SEARCH_SCOPE}


def channel_types_for_place(granted_scopes: Iterable[str], *, private_to_asker: bool) -> tuple[str, ...]:
    """What may be searched for an answer in this place: in a channel thread (seen by the channel), public
    channels only; in the asker's own DM or assistant chat, every type the bot token holds a scope for."""
    granted = set(granted_scopes)
    types = [kind for kind, scope in BOT_TOKEN_CHANNEL_TYPES.items() if scope in granted]
    if not private_to_asker:
        types = [kind for kind in types if kind == "public_channel"]
    return tuple(types)


class WorkspaceSearch:
    """One turn's searches: the asker's action token, the channel types this place may show, a channel cache."""

    def __init__(
        self,
        client: AsyncWebClient,
        channels: ChannelLookup,
        *,
        action_token: str,
        channel_types: tuple[str, ...],
    ) -> None:
        # Slack's special limit for search ("10+ per minute" for most teams): a 429 is told to the model at once
        # rather than waited out inside the tool call.
        self._client = without_rate_limit_retries(client)
        self._channels = channels
        self._action_token = action_token
        self._channel_types = channel_types

    async def search(self, query: str) -> SearchFound:
        if not self._channel_types:
            return SearchFound(problem="no_channel_types")
        try:
            response = await self._client.assistant_search_context(
                query=query[:500],
                action_token=self._action_token,
                channel_types=list(self._channel_types),
                content_types=["messages"],
                limit=RESULTS_PER_SEARCH,
            )
        except SlackApiError as error:
            code = str(error.response.get("error"))
            logger.warning("assistant.search.context failed: %s", code)
            return SearchFound(problem=code)
        found = ((response.get("results") or {}).get("messages")) or []
        kept: list[QuotedMessage] = []
        for result in found:
            message = await self._shown_here(result)
            if message is not None:
                kept.append(message)
        return SearchFound(messages=tuple(kept), left_out=len(found) - len(kept))

    async def _shown_here(self, result: dict[str, object]) -> QuotedMessage | None:
        """The result as quoted material, if its channel is of a type this place may show (asked of Slack)."""
        channel_id = str(result.get("channel_id") or "")
        permalink = str(result.get("permalink") or "")
        if not channel_id or not permalink:
            return None
        facts = await self._channels.facts(channel_id)
        if facts is None or facts.kind not in self._channel_types:
            return None
        author_id = str(result.get("author_user_id") or "")
        return QuotedMessage(
            channel_id=channel_id,
            channel_name=facts.name or str(result.get("channel_name") or ""),
            author=str(result.get("author_name") or "") or author_id,
            ts=str(result.get("message_ts") or ""),
            text=str(result.get("content") or ""),
            permalink=permalink,
        )


async def search_info(client: AsyncWebClient) -> bool:
    """Whether Slack's semantic (AI) search is on for the workspace; keyword search works either way.
    Raises SlackApiError (for example `missing_scope` without search:read.public)."""
    response = await client.assistant_search_info()
    return bool(response.get("is_ai_search_enabled"))
