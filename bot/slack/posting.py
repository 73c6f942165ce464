"""Posting one message of the bot's, and what to do when Slack refuses its content.

Slack refuses some messages for what they carry, not where they go (each chat method's page lists these errors):
blocks it cannot render or that are too long, metadata it will not take, an argument conflict. The words still
fit in a plain `text` message, so such a post is made once more as plain text, without blocks or metadata.
A few errors say Slack did nothing this time and may take it a moment later (`service_unavailable`,
`request_timeout`: the request arrived cut, `rate_limited`: too many posts just now, `team_added_to_org`: the
workspace is migrating): such a post is made once more after a pause. `internal_error` and `fatal_error` are not
retried: Slack says "some aspect of the operation" may have succeeded, and a second post could show the answer
twice. Any other refusal (the place: archived, locked, not a member; the token; the workspace) would refuse the
retry too, and is raised to the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.render import fallback_text, markdown_blocks, plain_text

logger = logging.getLogger(__name__)


class PostedMessages(list[str]):
    """The ts of each message of one answer, and when the first appeared (epoch seconds; the metrics' latency)."""

    first_at: float | None = None

    def append(self, ts: str) -> None:
        if self.first_at is None:
            self.first_at = time.time()
        super().append(ts)


# Metadata event type on the bot's notices: a rebuild from history leaves them out of the conversation.
NOTICE_EVENT = "bot_notice"

# Refusals of a message's content, by the pages of chat.postMessage, chat.update and the streaming methods.
CONTENT_REFUSALS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_chunks",
        "msg_blocks_too_long",
        "msg_blocks_too_many",
        "msg_too_long",
        "markdown_text_conflict",
        "cannot_provide_both_markdown_text_and_chunks",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
        "invalid_attachments",
        "too_many_attachments",
        "attachment_payload_limit_exceeded",
        "too_many_contact_cards",
        "missing_file_data",
        "block_mismatch",
        "no_text",
    }
)
PASSING_REFUSALS = frozenset({"service_unavailable", "request_timeout", "rate_limited", "team_added_to_org"})
RETRY_PAUSE_SECONDS = 1.0
PLAIN_TEXT_LIMIT = 3_900  # under chat.update's documented 4,000 for `text`, so the same text could be edited


def refused_for_content(error: SlackApiError) -> bool:
    return error.response.get("error") in CONTENT_REFUSALS


async def post_markdown(client: AsyncWebClient, channel: str, thread_ts: str | None, markdown: str) -> str:
    """Post `markdown` as a message (markdown blocks, a plain-text fallback); returns its ts."""
    try:
        response: Any = await _post_passing_refusals(
            client, channel=channel, thread_ts=thread_ts, text=fallback_text(markdown), blocks=markdown_blocks(markdown)
        )
    except SlackApiError as error:
        if not refused_for_content(error):
            raise
        logger.warning("Slack refused a message's blocks in %s (%s): posting it as plain text", channel, _code(error))
        response = await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=(plain_text(markdown) or "…")[:PLAIN_TEXT_LIMIT]
        )
    return str(response["ts"])


async def post_notice(client: AsyncWebClient, channel: str, thread_ts: str | None, text: str) -> None:
    """A message from the bot that is not part of the conversation (hints, errors), marked as such."""
    try:
        await _post_passing_refusals(
            client,
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            metadata={"event_type": NOTICE_EVENT, "event_payload": {}},
        )
    except SlackApiError as error:
        if not refused_for_content(error):
            raise
        logger.warning("Slack refused a notice's metadata in %s (%s): posting it bare", channel, _code(error))
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)


async def _post_passing_refusals(client: AsyncWebClient, **message: Any) -> Any:
    """chat.postMessage, once more after a pause when Slack says it did nothing this time."""
    try:
        return await client.chat_postMessage(**message)
    except SlackApiError as error:
        if _code(error) not in PASSING_REFUSALS:
            raise
        logger.info("Slack could not post in %s just now (%s): once more", message.get("channel"), _code(error))
        await asyncio.sleep(RETRY_PAUSE_SECONDS)
        return await client.chat_postMessage(**message)


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error"))
