"""Message shortcuts: "Reset this thread" forgets the chosen message's thread; "Summarize this thread" sends the
person a summary of it in their DM with the bot."""

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
from bot.turn.thread_summary import summarize_thread_in_dm

CALLBACK_ID = "reset_thread"
SUMMARIZE_CALLBACK_ID = "summarize_thread"


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
        user_id = (body.get("user") or {}).get("id") or ""
        refusal = await conversations.refusal_for(key.team_id, key.channel_id, user_id)
        if refusal is not None:
            await respond(text=refusal, response_type="ephemeral", replace_original=False)
            return
        await conversations.reset_thread(key, user_id=user_id)
        await respond(text=phrases.RESET_THREAD, response_type="ephemeral", replace_original=False)

    async def on_summarize_thread(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()
        key = thread_of_shortcut(body, workspace_of(context))
        user = body.get("user") or {}
        if key is None or not key.thread_ts:
            await respond(text=phrases.SUMMARY_NOT_A_THREAD, response_type="ephemeral", replace_original=False)
            return
        # Using the bot on this channel's thread, with the answer in a DM: both must be open to the person.
        refusal = await conversations.refusal_for(key.team_id, key.channel_id, user.get("id") or "")
        if refusal is None and not conversations.dms_open:
            refusal = phrases.NO_DIRECT_MESSAGES
        if refusal is not None:
            await respond(text=refusal, response_type="ephemeral", replace_original=False)
            return
        sent = await summarize_thread_in_dm(
            conversations,
            conversations.client,
            key,
            user_id=user.get("id") or "",
            user_team_id=user.get("team_id") or key.team_id,
        )
        if not sent:
            await respond(text=phrases.SUMMARY_NO_DM, response_type="ephemeral", replace_original=False)

    app.shortcut(CALLBACK_ID)(on_reset_thread)
    app.shortcut(SUMMARIZE_CALLBACK_ID)(on_summarize_thread)
