"""`app_home_opened`: the Messages tab of the DM with the bot offers suggested prompts (agent messaging
experience); the Home tab shows the person their Home view.

One listener for both tabs: Bolt runs only the first listener that matches an event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.assistant_pane import AssistantPane
from bot.slack.home_tab import HomeTab
from bot.turn.routing import workspace_of


def register(app: AsyncApp, pane: AssistantPane, home: HomeTab, *, dms_open: Callable[[], bool]) -> None:
    async def on_app_home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
        tab = event.get("tab")
        if tab == "messages" and event.get("channel") and dms_open():  # no prompts where nothing is answered
            # Apps on Slack's agent messaging experience (`agent_view`) get this instead of assistant_thread_started.
            await pane.offer_prompts(event["channel"])
        elif tab == "home" and event.get("user"):
            await home.publish(workspace_of(context), event["user"])

    app.event("app_home_opened")(on_app_home_opened)
