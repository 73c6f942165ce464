"""What the agent's tools are doing, shown in Slack while they run, logged once per call, and cited after."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.model.agent import WEB_SEARCH, Source, ToolActivity
from bot.model.slack_search_tool import TOOL_NAME as SEARCH_SLACK
from bot.shared import phrases
from bot.shared.metrics import TOOL_CALLS

logger = logging.getLogger(__name__)

# Slack's task_update chunk statuses (https://docs.slack.dev/reference/methods/chat.appendStream#chunks)
TASK_STATUS = {"started": "in_progress", "done": "complete", "failed": "error"}

ShowTasks = Callable[[list[dict[str, Any]]], Awaitable[bool]]
ShowLine = Callable[[str], Awaitable[None]]


def task_title(tool: str) -> str:
    if tool == SEARCH_SLACK:
        return phrases.SEARCHING_SLACK
    return phrases.SEARCHING_WEB if tool == WEB_SEARCH else phrases.CALLING_TOOL.format(tool=tool)


def status_line(tool: str) -> str:
    if tool == SEARCH_SLACK:
        return phrases.SEARCHING_SLACK_STATUS
    return phrases.SEARCHING_WEB_STATUS if tool == WEB_SEARCH else phrases.CALLING_TOOL_STATUS.format(tool=tool)


def task_chunk(activity: ToolActivity) -> dict[str, Any]:
    return {
        "type": "task_update",
        "id": activity.call_id,
        "title": task_title(activity.name),
        "status": TASK_STATUS[activity.state],
    }


def sources_markdown(sources: tuple[Source, ...]) -> str:
    """The cited pages as a list of links under the answer (empty when nothing was cited)."""
    if not sources:
        return ""
    lines = [f"{n}. [{_link_text(s.title)}]({s.url})" for n, s in enumerate(sources, 1)]
    return f"\n\n**{phrases.SOURCES}**\n" + "\n".join(lines)


def _link_text(title: str) -> str:
    return title.replace("[", "(").replace("]", ")").replace("\n", " ").strip()


class ToolProgress:
    """Turns tool activity into Slack task updates in the streamed answer, or a status line where the answer
    is not streamed; logs one line per call (conversation, tool, duration, ok or error; never arguments)."""

    def __init__(
        self,
        *,
        conversation: str,
        show_tasks: ShowTasks,
        show_line: ShowLine,
        server_of: Callable[[str], str] = lambda _tool: "other",
    ) -> None:
        self._conversation = conversation
        self._server_of = server_of
        self._show_tasks = show_tasks
        self._show_line = show_line
        self._started: dict[str, float] = {}
        self._as_tasks = True

    async def update(self, activity: ToolActivity) -> None:
        if activity.state == "started":
            self._started[activity.call_id] = time.monotonic()
        else:
            self._log(activity)
        if self._as_tasks:
            self._as_tasks = await self._show_tasks([task_chunk(activity)])
        if not self._as_tasks and activity.state == "started":
            await self._show_line(status_line(activity.name))

    def _log(self, activity: ToolActivity) -> None:
        started = self._started.pop(activity.call_id, None)
        seconds = time.monotonic() - started if started is not None else 0.0
        outcome = "ok" if activity.state == "done" else "error"
        server = WEB_SEARCH if activity.name == WEB_SEARCH else self._server_of(activity.name)
        TOOL_CALLS.labels(server=server, result=outcome).inc()
        logger.info("Tool %s in %s: %s after %.2f s", activity.name, self._conversation, outcome, seconds)
