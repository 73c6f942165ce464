"""Showing that the bot is working on an answer, and clearing it when the answer is there."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

THINKING_REACTION = "eyes"
THINKING_STATUS = "is thinking…"


class StatusCue:
    """Slack's own "is thinking…" status in any thread; at a DM's top level (or if Slack refuses it) a reaction.

    Since March 2026 `assistant.threads.setStatus` takes the `chat:write` scope and works in channel threads
    too, not only in assistant threads (docs.slack.dev/changelog/2026/03/05/set-status-scope-update).
    """

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str | None,
        message_ts: str,
        delay: float,
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._message_ts = message_ts
        self._in_thread = thread_ts is not None
        self._delay = delay
        self._task: asyncio.Task[str | None] | None = None
        self._calling = False
        self._line_shown = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._show_soon())

    async def show_line(self, status: str) -> None:
        """A short line of progress (e.g. "is searching the web…") as the thread's status, where Slack allows it."""
        if self._thread_ts is None:
            return
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self._channel, thread_ts=self._thread_ts, status=status
            )
        except SlackApiError as error:
            logger.info("Slack refused a status line in %s: %s", self._channel, error.response.get("error"))
            return
        self._line_shown = True

    async def clear(self, *, replied: bool) -> None:
        """Remove the cue; Slack clears a thread's status by itself when the bot replies there."""
        if self._line_shown and not replied:
            self._line_shown = False
            with contextlib.suppress(SlackApiError):
                await self._client.assistant_threads_setStatus(
                    channel_id=self._channel, thread_ts=str(self._thread_ts), status=""
                )
        if self._task is None:
            return
        if not self._calling:
            self._task.cancel()  # still waiting: nothing was shown
        shown: str | None = None
        with contextlib.suppress(asyncio.CancelledError, Exception):
            shown = await self._task
        if shown is None or (shown == "status" and replied):
            return
        try:
            if shown == "status":
                await self._client.assistant_threads_setStatus(
                    channel_id=self._channel, thread_ts=str(self._thread_ts), status=""
                )
            else:
                await self._client.reactions_remove(
                    channel=self._channel, timestamp=self._message_ts, name=THINKING_REACTION
                )
        except SlackApiError as error:
            logger.info("Could not clear the status in %s: %s", self._channel, error.response.get("error"))

    async def _show_soon(self) -> str | None:
        """Show the cue after the delay; returns which one was shown ("status", "reaction") or None."""
        await asyncio.sleep(self._delay)
        self._calling = True
        if self._in_thread:
            try:
                await self._client.assistant_threads_setStatus(
                    channel_id=self._channel, thread_ts=str(self._thread_ts), status=THINKING_STATUS
                )
                return "status"
            except SlackApiError as error:
                # e.g. a workspace where the method is not available yet: a reaction still shows it.
                logger.info("Slack refused the thread status in %s: %s", self._channel, error.response.get("error"))
        try:
            await self._client.reactions_add(channel=self._channel, timestamp=self._message_ts, name=THINKING_REACTION)
        except SlackApiError as error:
            logger.info("Could not show the status in %s: %s", self._channel, error.response.get("error"))
            return None
        return "reaction"
