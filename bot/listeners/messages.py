"""Mentions in channels, follow-ups in threads, and DMs: every message that may need an answer."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.turn.conversation import Conversations
from bot.turn.routing import ToMessage


def register(app: AsyncApp, conversations: Conversations, *, to_message: ToMessage) -> None:
    async def on_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
        # app_mention and message both arrive for one mention; handle() answers the message once.
        message = to_message(event, context)
        if message is not None:
            await conversations.handle(message)

    app.event("app_mention")(on_message)
    app.event("message")(on_message)
