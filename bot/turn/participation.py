"""Whether the bot is part of a thread it gets a follow-up in without a mention, when Redis cannot say for sure."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.state.memory import Memory
from bot.state.thread_state import Recall
from bot.turn.history import BotIdentity, HistoryUnavailable, read_thread
from bot.turn.routing import IncomingMessage

logger = logging.getLogger(__name__)


async def taking_part(
    message: IncomingMessage,
    recall: Recall,
    *,
    client: AsyncWebClient,
    memory: Memory,
    bot: BotIdentity,
    thread_memory_seconds: float,
) -> tuple[bool, list[dict[str, Any]] | None]:
    """Whether the bot is part of this thread: Redis says, unless it is away or may have lost the
    thread; then Slack's thread history tells (and is returned, to rebuild from without reading it again)."""
    if recall.from_redis and not recall.may_have_forgotten(
        message.key.thread_ts, now=time.time(), memory_seconds=thread_memory_seconds
    ):
        return False, None
    try:
        messages = await read_thread(client, message.key.channel_id, message.key.thread_ts)
    except HistoryUnavailable as error:
        # Neither Redis nor Slack can say whether this thread is the bot's: better silent than intrusive.
        logger.warning("Left a follow-up in %s unanswered: Redis is away and Slack said %s", message.key, error)
        return False, None
    ours = any(m.get("user") == bot.user_id or m.get("bot_id") == bot.bot_id for m in messages)
    if recall.from_redis:  # Redis had forgotten: remember what Slack said, either way
        await (memory.mark_participating(message.key) if ours else memory.mark_not_ours(message.key))
    return ours, messages
