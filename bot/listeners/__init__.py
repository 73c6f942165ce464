"""Slack listeners, one file per surface. They only translate payloads and hand them on to the turn.

May import `bot.turn`, `bot.slack`, `bot.model`, `bot.state` and `bot.shared`; only `bot.running` imports them.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.listeners import actions, assistant, commands, home, home_actions, messages, people, shortcuts
from bot.slack.assistant_pane import AssistantPane
from bot.slack.home_tab import HomeTab
from bot.slack.notes_home import RememberedNotes
from bot.turn.conversation import Conversations
from bot.turn.feedback import AnswerFeedback
from bot.turn.routing import IncomingMessage, message_from_event, workspace_of


def register(
    app: AsyncApp,
    conversations: Conversations,
    pane: AssistantPane,
    home_tab: HomeTab,
    feedback: AnswerFeedback,
    *,
    remembered: RememberedNotes,
    allowed_bot_ids: frozenset[str],
) -> None:
    def to_message(event: dict[str, Any], context: AsyncBoltContext) -> IncomingMessage | None:
        return message_from_event(
            event,
            team_id=workspace_of(context),
            bot_user_id=conversations.bot.user_id,
            allowed_bot_ids=allowed_bot_ids,
        )

    assistant.register(app, conversations, pane, to_message=to_message)
    messages.register(app, conversations, to_message=to_message)
    commands.register(app, conversations)
    home.register(app, pane, home_tab, dms_open=lambda: conversations.dms_open)
    shortcuts.register(app, conversations)
    actions.register(app, conversations, feedback)
    home_actions.register(app, home_tab, remembered)
    people.register(app, remembered)
