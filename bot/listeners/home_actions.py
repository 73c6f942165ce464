"""The Home tab's notes buttons (`block_actions`): Delete one note, or forget everything about the person.

Acknowledged first (Slack wants the ack within 3 seconds), then the note goes and the tab is published anew.
The person is the one who clicked (`body.user.id`): a payload names no one else's notes.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.home_tab import HomeTab
from bot.slack.notes_home import DELETE_NOTE, FORGET_ME, RememberedNotes
from bot.turn.routing import workspace_of


def clicked(body: dict[str, Any]) -> tuple[str, str]:
    """Who clicked, and the clicked button's value."""
    actions = body.get("actions") or [{}]
    return (body.get("user") or {}).get("id") or "", str(actions[0].get("value") or "")


def register(app: AsyncApp, home: HomeTab, remembered: RememberedNotes) -> None:
    async def on_delete(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        user_id, note_id = clicked(body)
        team_id = workspace_of(context)
        if user_id and note_id and remembered.enabled:
            await remembered.delete(team_id, user_id, note_id)
        if user_id:
            await home.publish(team_id, user_id)

    async def on_forget_me(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        user_id, _ = clicked(body)
        team_id = workspace_of(context)
        if user_id and remembered.enabled:
            await remembered.forget_person(team_id, user_id)
        if user_id:
            await home.publish(team_id, user_id)

    app.action(DELETE_NOTE)(on_delete)
    app.action(FORGET_ME)(on_forget_me)
