"""Slack message links in a person's message: read them (within the budget) and tell the model what they say,
or why they could not be read. The one place linked messages are read."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.quoting import quoted_block
from bot.shared.quoted import QuotedMessage
from bot.slack.channels import ChannelLookup
from bot.slack.links import MAX_LINKS, SlackLink, slack_links, why_unreadable
from bot.slack.people import People
from bot.slack.text import to_readable
from bot.turn.history import message_text, user_ids_in

logger = logging.getLogger(__name__)

REPLIES_PAGE = 200


class LinkedMessages:
    def __init__(self, client: AsyncWebClient, people: People) -> None:
        self._client = client
        self._people = people

    async def notes_for(
        self, text: str, *, team_id: str, readable_channels: frozenset[str], budget_chars: int
    ) -> list[str]:
        """One note per linked message: its thread as quoted material, or why it could not be read."""
        links = slack_links(text)
        if not links:
            return []
        channels = ChannelLookup(self._client)
        notes: list[str] = []
        room = budget_chars
        for number, link in enumerate(links):
            if number >= MAX_LINKS:
                notes.append(f"The link {link.url} was not read: only {MAX_LINKS} links are read per message.")
                continue
            facts = None if link.channel_id in readable_channels else await channels.facts(link.channel_id)
            reason = why_unreadable(link.channel_id, facts, readable_channels=readable_channels)
            if not reason:
                name = facts.name if facts is not None else ""
                note, reason = await self._read(link, team_id=team_id, budget_chars=room, channel_name=name)
                if note:
                    room -= len(note)
                    notes.append(note)
                    continue
            notes.append(f"The Slack link {link.url} could not be read: {reason}. Say so if it matters.")
        return notes

    async def _read(self, link: SlackLink, *, team_id: str, budget_chars: int, channel_name: str) -> tuple[str, str]:
        """The linked message's thread as a quoted block, or ("", why not)."""
        try:
            response = await self._client.conversations_replies(
                channel=link.channel_id, ts=link.root_ts, limit=REPLIES_PAGE
            )
        except SlackApiError as error:
            code = str(error.response.get("error"))
            logger.info("conversations.replies for a linked message: %s", code)
            return "", f"Slack refused to show it ({code})"
        messages = [m for m in response.get("messages") or [] if m.get("ts")]
        if not any(m.get("ts") == link.ts for m in messages):
            return "", "the message is gone (deleted, or the link is wrong)"
        names = await self._people.names(team_id, user_ids_in(messages))
        quoted = [
            QuotedMessage(
                channel_id=link.channel_id,
                channel_name=channel_name,
                author=names.get(m.get("user") or "") or m.get("user") or m.get("username") or "someone",
                ts=m["ts"],
                text=to_readable(message_text(m), names),
                permalink=link.permalink(m["ts"]),
            )
            for m in messages
        ]
        heading = f"The Slack message linked as {link.url}" + (
            f" and its thread ({len(quoted) - 1} replies)" if len(quoted) > 1 else ""
        )
        kept, left = _within(quoted, link.ts, budget_chars - len(heading) - 400)
        if left:
            heading += f"; {left} replies left out to stay within the budget"
        return quoted_block(heading + ":", kept), ""


def _within(messages: list[QuotedMessage], linked_ts: str, budget: int) -> tuple[list[QuotedMessage], int]:
    """The root and the linked message always; then replies in order while they fit."""
    kept: list[QuotedMessage] = []
    used = 0
    left = 0
    for index, message in enumerate(messages):
        size = len(message.text) + 120
        if index == 0 or message.ts == linked_ts or used + size <= budget:
            kept.append(message)
            used += size
        else:
            left += 1
    return kept, left
