"""`user_change`: a person deactivated in the workspace (`user.deleted: true`) is forgotten: their notes go."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.notes_home import RememberedNotes
from bot.turn.routing import workspace_of


def register(app: AsyncApp, remembered: RememberedNotes) -> None:
    async def on_user_change(event: dict[str, Any], context: AsyncBoltContext) -> None:
        user = event.get("user") or {}
        if user.get("deleted") is True and user.get("id"):
            await remembered.forget_person(workspace_of(context), str(user["id"]))

    app.event("user_change")(on_user_change)
