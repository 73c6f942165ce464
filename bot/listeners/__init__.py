"""Slack listeners, one file per surface. They only translate payloads and hand them on."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from ..assistant_pane import AssistantPane
from ..conversation import Conversations
from . import assistant, commands, messages, shortcuts


def register(
    app: AsyncApp, conversations: Conversations, pane: AssistantPane, *, allowed_bot_ids: frozenset[str]
) -> None:
    assistant.register(app, conversations, pane, allowed_bot_ids=allowed_bot_ids)
    messages.register(app, conversations, allowed_bot_ids=allowed_bot_ids)
    commands.register(app, conversations)
    shortcuts.register(app, conversations)
