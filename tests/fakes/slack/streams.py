"""Chat streaming in the fake Slack: chat.startStream, chat.appendStream, chat.stopStream.

What it encodes (docs.slack.dev/reference/methods/chat.startStream, .appendStream, .stopStream):
- `recipient_user_id` and `recipient_team_id` ("the team the user receiving the streaming text belongs to") are
  "Required when streaming to channels": `missing_recipient_user_id`, `missing_recipient_team_id`, `user_not_found`.
  The page does not say what a team id other than the user's gets; the fake answers `user_not_found`.
- A stream keeps the content mode of its first payload: opened with `markdown_text`, every later append or stop
  uses `markdown_text`; opened with `chunks`, every later call uses `chunks`. The other kind is refused with
  `streaming_mode_mismatch`, and one call with both with `cannot_provide_both_markdown_text_and_chunks`. Neither
  is on the method pages as scraped; several independent clients document both (vercel/chat #173,
  NousResearch/hermes-agent #104173). A stream opened with no content takes the mode of its first append.
- `stopped_by_user` (chat.appendStream): "The streaming message was stopped by the user and no further appends
  are accepted." The page does not say what a stop gets then; the fake answers `stopped_by_user` too.
- `message_not_in_streaming_state`: a stream that was stopped, or that Slack ended on its own (long streams do).
"""

from __future__ import annotations

from typing import Any

from .checks import TASK_DISPLAY_MODES, check_chunks, check_markdown_text, stream_text
from .errors import SlackError

Message = dict[str, Any]


class Streams:
    """The streaming methods, mixed into FakeSlack (which holds the messages and users)."""

    streaming_error: str | None

    # ---- test-side helpers

    def press_stop(self, channel: str, ts: str) -> None:
        """The person presses Stop on a streaming answer: it keeps what it shows, and takes nothing more."""
        message = self._require(channel, ts)  # type: ignore[attr-defined]
        message["streaming"] = False
        message["stopped_by_user"] = True

    def end_stream(self, channel: str, ts: str) -> None:
        """Slack ends a stream on its own (streams lasting minutes do): later calls get
        `message_not_in_streaming_state`."""
        self._require(channel, ts)["streaming"] = False  # type: ignore[attr-defined]

    # ---- Web API methods

    def _chat_start_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.streaming_error is not None:
            raise SlackError(self.streaming_error)
        channel, thread_ts = args["channel"], args["thread_ts"]
        if args.get("task_display_mode") not in (None, *TASK_DISPLAY_MODES):
            raise SlackError("invalid_arguments")
        mode = _content_mode(args)
        if not channel.startswith("D"):
            user_id = args.get("recipient_user_id")
            team_id = args.get("recipient_team_id")
            if not user_id:
                raise SlackError("missing_recipient_user_id")
            if not team_id:
                raise SlackError("missing_recipient_team_id")
            user = self._users.get(user_id)  # type: ignore[attr-defined]
            if user is None or user.team_id != team_id:
                raise SlackError("user_not_found")
        text = stream_text(args)
        message = self._new_bot_message(text, thread_ts)  # type: ignore[attr-defined]
        message.update(streaming=True, stream_mode=mode, chunks=[text] if text else [], tasks={})
        _record_tasks(message, args)
        self._store(channel, message)  # type: ignore[attr-defined]
        return {"channel": channel, "ts": message["ts"]}

    def _chat_append_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._streaming_message(args)
        if not (args.get("markdown_text") or args.get("chunks")):
            raise SlackError("no_text")
        self._take(message, args)
        return {"channel": args["channel"], "ts": message["ts"]}

    def _chat_stop_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._streaming_message(args)
        self._take(message, args)
        for key in ("blocks", "metadata"):
            if args.get(key) is not None:
                message[key] = args[key]
        message["streaming"] = False
        return {"channel": args["channel"], "ts": message["ts"], "message": self._public(message)}  # type: ignore[attr-defined]

    # ---- internals

    def _streaming_message(self, args: dict[str, Any]) -> Message:
        message = self._require(args["channel"], args["ts"])  # type: ignore[attr-defined]
        if message.get("bot_id") != self.bot_id:  # type: ignore[attr-defined]
            raise SlackError("message_not_owned_by_app")
        if message.get("stopped_by_user"):
            raise SlackError("stopped_by_user")
        if not message.get("streaming"):
            raise SlackError("message_not_in_streaming_state")
        return message

    @staticmethod
    def _take(message: Message, args: dict[str, Any]) -> None:
        mode = _content_mode(args)
        if mode is not None:
            if message.get("stream_mode") not in (None, mode):
                raise SlackError("streaming_mode_mismatch")
            message["stream_mode"] = mode
        text = stream_text(args)
        if text:
            message["text"] += text
            message["chunks"].append(text)
        _record_tasks(message, args)


def _content_mode(args: dict[str, Any]) -> str | None:
    """ "chunks" or "markdown_text" for a call with content; None without."""
    check_chunks(args)
    check_markdown_text(args)
    has_text, has_chunks = args.get("markdown_text") is not None, args.get("chunks") is not None
    if has_text and has_chunks:
        raise SlackError("cannot_provide_both_markdown_text_and_chunks")
    return "chunks" if has_chunks else "markdown_text" if has_text else None


def _record_tasks(message: Message, args: dict[str, Any]) -> None:
    """A task's latest update, by id, as the message shows it."""
    for chunk in args.get("chunks") or []:
        if chunk.get("type") == "task_update":
            message["tasks"][chunk["id"]] = chunk
