"""Mentions in channels, follow-ups in threads, and DMs: every message that may need an answer."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from ..conversation import Conversations
from ..routing import message_from_event


def register(app: AsyncApp, conversations: Conversations, *, allowed_bot_ids: frozenset[str]) -> None:
    async def on_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
        # app_mention and message both arrive for one mention; handle() answers the message once.
        message = message_from_event(
            event,
            team_id=context.team_id or event.get("team") or "",
            bot_user_id=conversations.bot.user_id,
            allowed_bot_ids=allowed_bot_ids,
        )
        if message is not None:
            await conversations.handle(message)

    app.event("app_mention")(on_message)
    app.event("message")(on_message)
