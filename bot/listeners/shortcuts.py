"""The "Reset this thread" message shortcut: forget the thread of the chosen message."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.shared import phrases
from bot.shared.conversation_key import ConversationKey
from bot.turn.conversation import Conversations
from bot.turn.routing import workspace_of

CALLBACK_ID = "reset_thread"


def thread_of_shortcut(body: dict[str, Any], team_id: str) -> ConversationKey | None:
    """The conversation a message shortcut points at: the message's thread, or a DM's running one."""
    channel_id = (body.get("channel") or {}).get("id") or ""
    message = body.get("message") or {}
    ts = message.get("ts") or ""
    if not team_id or not channel_id or not ts:
        return None
    thread_ts = message.get("thread_ts") or ""
    if channel_id.startswith("D") and (not thread_ts or thread_ts == ts) and not message.get("reply_count"):
        return ConversationKey(team_id, channel_id, "")
    return ConversationKey(team_id, channel_id, thread_ts or ts)


def register(app: AsyncApp, conversations: Conversations) -> None:
    async def on_reset_thread(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()
        key = thread_of_shortcut(body, workspace_of(context))
        if key is None:
            await respond(text=phrases.RESET_NOT_A_THREAD, response_type="ephemeral")
            return
        await conversations.reset_thread(key, user_id=(body.get("user") or {}).get("id") or "")
        await respond(text=phrases.RESET_THREAD, response_type="ephemeral", replace_original=False)

    app.shortcut(CALLBACK_ID)(on_reset_thread)
