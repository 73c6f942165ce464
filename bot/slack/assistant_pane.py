"""Slack's AI assistant pane: the greeting, suggested prompts and thread titles (no listener code here)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.shared import phrases
from bot.shared.conversation_key import ConversationKey
from bot.slack.posting import post_notice
from bot.slack.text import strip_user_mention, to_readable
from bot.state.memory import Memory

logger = logging.getLogger(__name__)

TITLE_LIMIT = 80  # Slack shows about this much of a title in the history list


class AssistantPane:
    """What happens in an assistant thread before and around its conversation."""

    def __init__(self, client: AsyncWebClient, memory: Memory) -> None:
        self._client = client
        self._memory = memory

    async def greet(self, key: ConversationKey, *, viewed_channel_id: str) -> None:
        """A new assistant thread: a greeting and a few prompts to start from, once per thread."""
        # The thread's root is Slack's own message, never answered: its ts keys this one greeting.
        if not await self._memory.claim_message(key.team_id, key.channel_id, key.thread_ts):
            return
        if viewed_channel_id:
            await self._memory.remember_viewed_channel(key, viewed_channel_id)
        try:
            await post_notice(self._client, key.channel_id, key.thread_ts, phrases.ASSISTANT_GREETING)
            await self._client.assistant_threads_setSuggestedPrompts(
                channel_id=key.channel_id,
                thread_ts=key.thread_ts,
                title=phrases.ASSISTANT_PROMPTS_TITLE,
                prompts=suggested_prompts(),
            )
        except SlackApiError as error:
            logger.warning("Could not greet in the assistant thread %s: %s", key, error.response.get("error"))

    async def offer_prompts(self, channel_id: str) -> None:
        """Slack's agent messaging experience: someone opened their DM with the bot; offer a few prompts.

        No greeting message: that event comes every time the DM is opened, and agent apps set their
        prompts for the DM as a whole (a `thread_ts` makes Slack drop the call silently).
        """
        try:
            await self._client.assistant_threads_setSuggestedPrompts(
                channel_id=channel_id, title=phrases.ASSISTANT_PROMPTS_TITLE, prompts=suggested_prompts()
            )
        except SlackApiError as error:
            logger.info("Could not offer prompts in %s: %s", channel_id, error.response.get("error"))

    async def context_changed(self, key: ConversationKey, *, viewed_channel_id: str) -> None:
        """The person now views another channel, or none ("" when they look at something else)."""
        await self._memory.remember_viewed_channel(key, viewed_channel_id)


def suggested_prompts() -> list[dict[str, str]]:
    return [{"title": title, "message": message} for title, message in phrases.ASSISTANT_PROMPTS]


def thread_title(question: str, *, bot_user_id: str, names: Mapping[str, str]) -> str:
    """A thread's title from its first question: readable, one line, cut at a word."""
    text = " ".join(to_readable(strip_user_mention(question, bot_user_id), names).split())
    if len(text) <= TITLE_LIMIT:
        return text
    cut = text.rfind(" ", 0, TITLE_LIMIT - 1)
    return text[: cut if cut > TITLE_LIMIT // 2 else TITLE_LIMIT - 1].rstrip(" ,.;:") + "…"


async def set_thread_title(client: AsyncWebClient, key: ConversationKey, title: str) -> None:
    if not title:
        return
    try:
        await client.assistant_threads_setTitle(channel_id=key.channel_id, thread_ts=key.thread_ts, title=title)
    except SlackApiError as error:
        logger.info("Could not title the assistant thread %s: %s", key, error.response.get("error"))
    except Exception as error:  # a title is cosmetic: a network failure must not cost the answer
        logger.info("Could not title the assistant thread %s: %s", key, type(error).__name__)
