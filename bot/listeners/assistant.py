"""Slack's AI assistant pane, routed by Bolt's `AsyncAssistant` middleware, and the agent messaging experience.

A new assistant thread gets a greeting and suggested prompts; the channel the person is looking at
is kept as a hint for the model; each message in an assistant thread goes through the same
`Conversations.handle` as every other message (de-duplication, turn order, memory), as one
conversation per assistant thread. In the agent messaging experience (`agent_view`), `app_home_opened` on
the Messages tab replaces `assistant_thread_started` and `app_context_changed` replaces
`assistant_thread_context_changed` (docs.slack.dev/ai/migrating-to-agent-messaging); messages arrive as
plain `message.im` events.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant

from bot.shared.conversation_key import ConversationKey
from bot.slack.assistant_pane import AssistantPane
from bot.turn.conversation import Conversations
from bot.turn.routing import ToMessage, workspace_of


def thread_of(event: dict[str, Any], team_id: str) -> tuple[ConversationKey, str] | None:
    """The assistant thread an `assistant_thread_*` event is about, and the channel the person is viewing."""
    thread = event.get("assistant_thread") or {}
    channel_id, thread_ts = thread.get("channel_id") or "", thread.get("thread_ts") or ""
    if not team_id or not channel_id or not thread_ts:
        return None
    viewed = (thread.get("context") or {}).get("channel_id") or ""
    return ConversationKey(team_id, channel_id, thread_ts), viewed


def viewed_channel(context: dict[str, Any]) -> str:
    """The channel an `app_context_changed` event says the person is viewing ("" for none).

    Entities are "ordered by relevance" (docs.slack.dev/reference/events/app_context_changed).
    """
    for entity in context.get("entities") or []:
        if entity.get("type") == "slack#/types/channel_id" and isinstance(entity.get("value"), str):
            return str(entity["value"])
    return ""


def register(app: AsyncApp, conversations: Conversations, pane: AssistantPane, *, to_message: ToMessage) -> None:
    assistant = AsyncAssistant()

    @assistant.thread_started
    async def on_thread_started(event: dict[str, Any], context: AsyncBoltContext) -> None:
        found = thread_of(event, workspace_of(context))
        if found is not None and conversations.dms_open:  # no greeting where no question will be answered
            key, viewed = found
            await pane.greet(key, viewed_channel_id=viewed)

    @assistant.thread_context_changed
    async def on_context_changed(event: dict[str, Any], context: AsyncBoltContext) -> None:
        found = thread_of(event, workspace_of(context))
        if found is not None:
            key, viewed = found
            await pane.context_changed(key, viewed_channel_id=viewed)

    @assistant.user_message
    async def on_user_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
        message = to_message(event, context)
        if message is None:
            return
        await conversations.handle(replace(message, is_assistant_thread=True))

    app.assistant(assistant)

    async def on_app_context_changed(event: dict[str, Any], context: AsyncBoltContext) -> None:
        # `channel` is the person's DM with the bot (@slack/types AppContextChangedEvent; the event page's
        # example shows only `context`).
        dm, team_id = event.get("channel") or "", workspace_of(context)
        if dm and team_id:
            await pane.context_changed(
                ConversationKey(team_id, dm, ""), viewed_channel_id=viewed_channel(event.get("context") or {})
            )

    app.event("app_context_changed")(on_app_context_changed)
