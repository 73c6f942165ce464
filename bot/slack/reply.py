"""Writing one answer into Slack while the model writes it.

A short answer that is complete before streaming would show anything is posted in one call.
A longer one streams with Slack's chat streaming methods where Slack accepts them, else as one
posted message edited with `chat.update` about once a second. Either way an answer longer than
one message continues in the next, split where a reader would split it.

Every write is paced by the workspace's rate budget (`pacing`), shared with the other answers being
written there: a message is opened live only when the budget holds the call that will close it, a
stream's next piece or an edit waits for room, and an answer that finds none is posted whole when the
model is done. A 429 on a write that can come later postpones this answer's next write only.

A Slack stream keeps the content mode of its first payload: opened with `chunks` (tool progress as task cards),
every later call must send `chunks`, so the answer's text goes as `markdown_text` chunks; opened with
`markdown_text`, it takes no chunks, and tool progress shows as the thread's status line instead. The other kind
is refused with `streaming_mode_mismatch`. When the person presses Stop, Slack takes no more (`stopped_by_user`):
the answer keeps what it shows, nothing more is written, and the conversation's memory still advances with what
the model answered (the model's run is not cut short).

slack_sdk's `chat_stream()` helper is not used: it buffers by size (256 characters) where this paces
by time, it holds one message's state where an answer may span several, and its first flush hides
Slack's refusal of `chat.startStream` inside `append`; the three calls made here directly are simpler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.shared import phrases
from bot.slack.answer_writing import AnswerWriting
from bot.slack.pacing import WorkspaceBudget, retry_after
from bot.slack.posting import NOTICE_EVENT, PostedMessages, post_markdown, post_notice
from bot.slack.render import MESSAGE_MARKDOWN_LIMIT, cut_for_room, fallback_text, markdown_blocks, split_markdown

logger = logging.getLogger(__name__)

CHUNKS_MODE, MARKDOWN_MODE = "chunks", "markdown_text"  # a stream's content mode, fixed by its first payload
# Slack ended the stream (long streams do): the rest goes on in a new message. A stream refused for its content
# mode (never sent by this code; a safety net) is treated the same, without streaming for the rest of the answer.
STREAM_ENDED = frozenset({"message_not_in_streaming_state", "streaming_mode_mismatch"})
STREAM_INTERVAL_SECONDS = 0.3  # at most this often per stream, within the workspace's budget
UPDATE_INTERVAL_SECONDS = 1.0  # between edits of the fallback message (and tries to open one)


class Reply:
    """One answer on its way to Slack; feed it text with `add`, then `finish` or `fail`."""

    def __init__(
        self,
        writing: AnswerWriting,
        *,
        channel: str,
        thread_ts: str | None,
        team_id: str,
        recipient_team_id: str,  # the asker's own workspace, which Slack streams to
        user_id: str,
        stream_after: float,  # an answer complete by then needs no streaming
    ) -> None:
        self._client = writing.client
        self._eager_client = writing.eager_client
        self._streaming = writing.streaming
        self._budget: WorkspaceBudget = writing.pacing.budget(team_id)
        self._stream_after = stream_after
        self._channel = channel
        self._thread_ts = thread_ts
        self._team_id = team_id
        self._recipient_team_id = recipient_team_id
        self._user_id = user_id
        self._received = ""  # everything the model wrote so far
        self._pending = ""  # received but not yet in Slack
        self._ts: str | None = None  # the message being written
        self._shown = ""  # what that message shows
        self._mode: str | None = None  # "stream" or "update" for the message being written
        self._content_mode = MARKDOWN_MODE  # of the stream being written: CHUNKS_MODE or MARKDOWN_MODE
        self._tasks_shown = False  # task cards were shown: later streams of this answer open in chunks too
        self.stopped_by_user = False  # the person pressed Stop: Slack takes nothing more of this answer
        self._may_stream = True  # until Slack refuses a stream for this answer
        self._not_before = 0.0  # after a 429: this answer writes nothing before then (monotonic clock)
        self.posted = PostedMessages()  # ts of every message of this answer, and when the first appeared
        self._done = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    def add(self, text: str) -> None:
        self._received += text
        self._pending += text
        if self._pump is None:
            self._pump = asyncio.create_task(self._pump_while_writing())

    async def finish(self, final_text: str) -> list[str]:
        """Show the whole answer; returns the ts of its messages. Raises SlackApiError if Slack refuses."""
        await self._stop_pump()
        if final_text.startswith(self._received):
            self._pending += final_text[len(self._received) :]
        elif not self._received:
            self._pending = final_text
        if self._ts is None and not self.posted:
            for part in split_markdown(self._pending) or [final_text or "…"]:
                await self._post(part)
            self._pending = ""
            return self.posted
        await self._flush(final=True)
        return self.posted

    async def fail(self, phrase: str) -> None:
        """End the answer after a failure: what was received plus a short note, or just `phrase`."""
        await self._stop_pump()
        if self.stopped_by_user:
            return  # the person stopped this answer: no note either
        try:
            if self._received.strip():
                self._pending += "\n\n" + phrases.STREAM_CUT
                await self._flush(final=True)
            elif self._ts is not None and self._mode == "stream":
                # A stream opened to show tool progress: end it with the note, marked as one (not an answer).
                await self._wait_out_rate_limit()
                await self._client.chat_stopStream(
                    channel=self._channel,
                    ts=self._ts,
                    **self._content(phrase),
                    metadata={"event_type": NOTICE_EVENT, "event_payload": {}},
                )
                self._close()
            else:
                await post_notice(self._client, self._channel, self._thread_ts, phrase)
        except SlackApiError as error:
            if self._stopped_by_user(error):
                return
            logger.error(
                "Could not tell %s/%s about a failure: %s",
                self._channel,
                self._thread_ts,
                error.response.get("error"),
            )

    async def show_tasks(self, chunks: list[dict[str, Any]]) -> bool:
        """Task updates (tool progress) in the streamed answer, opening the stream if need be.

        False where this answer is not streamed in Slack, so the caller shows progress another way. Updates are
        few (two per tool call) and must land, or a step would show as running forever: they go through the
        client that waits out a 429.
        """
        async with self._flushing:
            if self.stopped_by_user:
                return True  # nothing more is shown, not even as a status line
            try:
                if self._ts is not None and self._mode == "stream":
                    if self._content_mode != CHUNKS_MODE:
                        return False  # a stream opened with text takes no task cards
                    self._budget.try_take("chat.appendStream")
                    await self._wait_out_rate_limit()
                    await self._client.chat_appendStream(channel=self._channel, ts=self._ts, chunks=chunks)
                    return True
                if self._ts is not None or self.posted or not self._thread_ts:
                    return False
                if not (self._may_stream and self._streaming.available(self._team_id)):
                    return False
                if not self._budget.try_take("chat.startStream", "chat.stopStream"):
                    return False
                response = await self._eager_client.chat_startStream(
                    channel=self._channel,
                    thread_ts=self._thread_ts,
                    chunks=chunks,
                    task_display_mode="timeline",  # each tool call on its own line, in order
                    recipient_team_id=self._recipient_team_id,
                    recipient_user_id=self._user_id,
                )
            except SlackApiError as error:
                if self._stopped_by_user(error):
                    return True
                logger.info("Slack refused task updates in %s: %s", self._channel, error.response.get("error"))
                if error.response.get("error") in STREAM_ENDED:
                    self._close()  # the text goes on in a new message
                if self._ts is None:  # the stream could not open: this answer is written without one
                    self._may_stream = False
                    self._streaming.refused(self._team_id, str(error.response.get("error")))
                return False
            self._ts, self._shown, self._mode = response["ts"], "", "stream"
            self._content_mode, self._tasks_shown = CHUNKS_MODE, True
            self.posted.append(response["ts"])
            return True

    async def _stop_pump(self) -> None:
        self._done.set()
        if self._pump is not None:
            with contextlib.suppress(Exception):
                await self._pump

    async def _pump_while_writing(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), self._stream_after)
        while not self._done.is_set():
            if time.monotonic() >= self._not_before:
                try:
                    await self._flush(final=False)
                except SlackApiError as error:
                    # Slack refuses even a new message here: the end of the answer tries once more, no sooner.
                    logger.warning("Streaming to %s failed: %s", self._channel, error.response.get("error"))
                    return
            interval = STREAM_INTERVAL_SECONDS if self._mode == "stream" else UPDATE_INTERVAL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done.wait(), interval)

    async def _flush(self, *, final: bool) -> None:
        """Show what is pending as far as Slack and the budget allow now; `final` shows all of it."""
        async with self._flushing:
            text, self._pending = self._pending, ""
            try:
                while text and not self.stopped_by_user:
                    if final and self._ts is None:  # nothing live to finish: the rest in as few messages as it takes
                        parts = split_markdown(text)
                        for n, part in enumerate(parts):
                            await self._post(part)
                            text = "\n\n".join(parts[n + 1 :])
                        break
                    room = MESSAGE_MARKDOWN_LIMIT - len(self._shown)
                    if len(text) <= room:
                        piece, rest, last = text, "", final
                    else:
                        (piece, rest), last = cut_for_room(self._shown, text, room), True
                    if not await self._show(piece, last=last):
                        break  # no room in the budget, or Slack asked this answer to wait: a later flush shows it
                    text = rest
                else:
                    if final and self._ts is not None:
                        await self._show("", last=True)
            finally:
                if self.stopped_by_user:
                    self._pending = ""  # the person stopped the answer: the rest is not shown
                else:
                    self._pending = text + self._pending  # not shown: try again with the next flush

    async def _show(self, text: str, *, last: bool) -> bool:
        """Add `text` to the message being written (opening one if there is room); `last` closes it.

        Returns False when nothing was written now; a write with `last` always lands (or raises).
        """
        if self.stopped_by_user:
            return True
        if self._ts is None:
            if not text:
                return True
            if last:  # a whole message's worth: posted as it is
                await self._post(text)
                return True
            return await self._open(text)
        if self._mode == "stream":
            return await self._show_in_stream(text, last=last)
        return await self._show_by_edit(text, last=last)

    async def _show_in_stream(self, text: str, *, last: bool) -> bool:
        try:
            if last:
                await self._wait_out_rate_limit()
                await self._client.chat_stopStream(channel=self._channel, ts=self._ts, **self._content(text))
            elif not text:
                return True
            elif not self._may_write_now("chat.appendStream"):
                return False
            else:
                await self._eager_client.chat_appendStream(channel=self._channel, ts=self._ts, **self._content(text))
        except SlackApiError as error:
            if self._postponed(error) or self._stopped_by_user(error):
                return False
            code = error.response.get("error")
            if code in STREAM_ENDED:
                logger.info(
                    "Slack ended the stream in %s (%s): the answer goes on in a new message", self._channel, code
                )
            else:  # the stream cannot take more: the message keeps what it shows, the rest is posted after it
                logger.warning("Slack refused a stream in %s (%s): the rest is posted instead", self._channel, code)
                self._may_stream = False
                if not last:  # (when the stop itself was refused, asking again would be refused again)
                    await self._end_stream_quietly()
            self._close()
            return await self._show(text, last=last)
        self._shown += text
        if last:
            self._close()
        return True

    async def _show_by_edit(self, text: str, *, last: bool) -> bool:
        if not text:
            if last:
                self._close()
            return True
        shown = self._shown + text
        edit = {
            "channel": self._channel,
            "ts": self._ts,
            "text": fallback_text(shown),
            "blocks": markdown_blocks(shown),
        }
        try:
            if last:  # the edit reserved when the message was opened
                await self._wait_out_rate_limit()
                await self._client.chat_update(**edit)
                self._close()
                return True
            if not self._may_write_now("chat.update"):
                return False
            await self._eager_client.chat_update(**edit)
        except SlackApiError as error:
            if self._postponed(error):
                return False
            # The message cannot be edited (deleted, too old, refused): it keeps what it shows, the rest is posted.
            logger.warning(
                "Slack refused an edit in %s (%s): the rest is posted instead",
                self._channel,
                error.response.get("error"),
            )
            self._close()
            return await self._show(text, last=last)
        self._shown = shown
        return True

    async def _open(self, text: str) -> bool:
        """Open a live message with `text`, if the budget holds the call that will close it."""
        live_stream = self._may_stream and self._thread_ts and self._streaming.available(self._team_id)
        if live_stream and self._budget.try_take("chat.startStream", "chat.stopStream"):
            # After task cards, a new stream opens in chunks too: a later tool's progress can still show in it.
            self._content_mode = CHUNKS_MODE if self._tasks_shown else MARKDOWN_MODE
            try:
                response = await self._eager_client.chat_startStream(
                    channel=self._channel,
                    thread_ts=self._thread_ts,
                    **self._content(text),
                    recipient_team_id=self._recipient_team_id,
                    recipient_user_id=self._user_id,
                )
            except SlackApiError as error:
                self._may_stream = False
                self._streaming.refused(self._team_id, str(error.response.get("error")))
            else:
                self._ts, self._shown, self._mode = response["ts"], text, "stream"
                self.posted.append(response["ts"])
                return True
        if not self._budget.try_take("chat.update"):  # the edit that will finish the message
            return False
        self._ts = await self._post(text)
        self._shown, self._mode = text, "update"
        return True

    async def _post(self, text: str) -> str:
        ts = await post_markdown(self._client, self._channel, self._thread_ts, text)
        self.posted.append(ts)
        return ts

    def _close(self) -> None:
        self._ts, self._shown, self._mode = None, "", None

    async def _end_stream_quietly(self) -> None:
        """Stop a stream Slack refused to extend, so it does not show as still being written (if Slack lets us)."""
        with contextlib.suppress(SlackApiError):
            await self._eager_client.chat_stopStream(channel=self._channel, ts=self._ts)

    def _content(self, text: str) -> dict[str, Any]:
        """`text` as the stream being written takes it: a `markdown_text` chunk in a chunks stream."""
        if not text:
            return {}
        if self._content_mode == CHUNKS_MODE:
            return {"chunks": [{"type": "markdown_text", "text": text}]}
        return {"markdown_text": text}

    def _stopped_by_user(self, error: SlackApiError) -> bool:
        """The person pressed Stop: Slack takes no more of this answer, which keeps what it shows."""
        if error.response.get("error") != "stopped_by_user":
            return False
        if not self.stopped_by_user:
            logger.info("The answer in %s was stopped by the person: nothing more is written", self._channel)
        self.stopped_by_user = True
        self._pending = ""
        self._close()
        return True

    def _may_write_now(self, method: str) -> bool:
        return time.monotonic() >= self._not_before and self._budget.try_take(method)

    def _postponed(self, error: SlackApiError) -> bool:
        """A 429: this answer writes nothing more until Slack's `Retry-After` has passed; others go on."""
        seconds = retry_after(error)
        if seconds is None:
            return False
        self._not_before = time.monotonic() + seconds
        logger.info("Slack rate-limited an answer in %s: its next write waits %.1fs", self._channel, seconds)
        return True

    async def _wait_out_rate_limit(self) -> None:
        delay = self._not_before - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
