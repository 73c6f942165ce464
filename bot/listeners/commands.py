"""`/reset`: forget every conversation of the channel or DM it is typed in."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.shared import phrases
from bot.turn.conversation import Conversations
from bot.turn.routing import workspace_of


def register(app: AsyncApp, conversations: Conversations) -> None:
    async def on_reset(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        channel_id = command.get("channel_id") or ""
        team_id = workspace_of(context)
        if not channel_id or not team_id:
            await ack(text=phrases.RESET_NOT_A_THREAD)
            return
        refusal = await conversations.refusal_for(team_id, channel_id, command.get("user_id") or "")
        if refusal is not None:
            await ack(text=refusal)
            return
        await conversations.reset_channel(team_id, channel_id)  # kept and written later if Redis is away
        await ack(text=phrases.RESET_DM if channel_id.startswith("D") else phrases.RESET_CHANNEL)

    app.command("/reset")(on_reset)
