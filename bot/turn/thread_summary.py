"""The "Summarize this thread" shortcut: a summary only the person sees, in their DM with the bot.

The DM rather than an ephemeral message in the thread: an ephemeral message cannot be streamed or answered, and
is gone when Slack reloads; in the DM the summary stays, and a follow-up there knows it (the same turn, memory
and all). The thread's channel is readable there because the person brought it to a place only they see."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.shared import phrases
from bot.shared.conversation_key import ConversationKey
from bot.turn.catch_up import SummaryRequest
from bot.turn.conversation import Conversations
from bot.turn.routing import IncomingMessage

logger = logging.getLogger(__name__)


def thread_permalink(workspace_url: str, channel_id: str, thread_ts: str) -> str:
    return f"{(workspace_url or 'https://slack.com/').rstrip('/')}/archives/{channel_id}/p{thread_ts.replace('.', '')}"


async def summarize_thread_in_dm(
    conversations: Conversations,
    client: AsyncWebClient,
    thread: ConversationKey,
    *,
    user_id: str,
    user_team_id: str,
) -> bool:
    """Open the person's DM with the bot, say there what follows, and answer the summary as their turn.
    False when the DM could not be opened or written to (the person is told by the caller)."""
    link = thread_permalink(conversations.bot.workspace_url, thread.channel_id, thread.thread_ts)
    try:
        opened = await client.conversations_open(users=user_id)
        dm = str((opened.get("channel") or {}).get("id") or "")
        note = await client.chat_postMessage(
            channel=dm, text=phrases.SUMMARY_NOTE.format(link=link, channel=thread.channel_id)
        )
    except SlackApiError as error:
        logger.warning("Could not open a DM for a thread summary: %s", error.response.get("error"))
        return False
    message = IncomingMessage(
        key=ConversationKey(thread.team_id, dm, ""),
        ts=str(note["ts"]),
        user_id=user_id,
        text=f"{phrases.SUMMARY_REQUEST} {link}",
        is_dm=True,
        mentioned=False,
        in_thread=False,
        user_team_id=user_team_id,
        shared_channels=(thread.channel_id,),
        summarize=SummaryRequest(channel_id=thread.channel_id, thread_ts=thread.thread_ts),
    )
    await conversations.handle(message)
    return True
