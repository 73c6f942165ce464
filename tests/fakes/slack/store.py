"""The fake Slack's messages and people: what is posted where, timestamps, pages of history."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from bisect import insort
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import SlackError

Message = dict[str, Any]
PRIVATE_KEYS = ("streaming", "chunks", "edits", "tasks", "stream_mode", "stopped_by_user")


@dataclass
class Page:
    messages: list[Message]
    has_more: bool
    next_cursor: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "messages": [public(m) for m in self.messages],
            "has_more": self.has_more,
            "response_metadata": {"next_cursor": self.next_cursor},
        }


@dataclass
class User:
    id: str
    real_name: str
    display_name: str
    is_bot: bool
    team_id: str

    def to_api(self) -> dict[str, Any]:
        name = (self.display_name or self.real_name).lower().replace(" ", ".")
        profile = {"display_name": self.display_name, "real_name": self.real_name}
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": self.real_name,
            "is_bot": self.is_bot,
            "profile": profile,
        }


@dataclass
class Timestamps:
    last_micros: int = 0

    def next(self) -> str:
        self.last_micros = max(time.time_ns() // 1000, self.last_micros + 1)
        return _format_ts(self.last_micros)

    def seen(self, ts: str) -> None:
        self.last_micros = max(self.last_micros, int(Decimal(ts) * 1_000_000))


class Store:
    """Channels of messages and the workspace's people, mixed into FakeSlack."""

    team_id: str
    bot_user_id: str
    bot_id: str
    page_size_cap: int | None
    _channels: dict[str, list[Message]]
    _users: dict[str, User]
    _ts: Timestamps

    # ---- test-side helpers

    def add_user(
        self,
        user_id: str,
        real_name: str,
        display_name: str = "",
        *,
        is_bot: bool = False,
        team_id: str | None = None,  # another workspace's user, as in a Slack Connect channel
    ) -> None:
        self._users[user_id] = User(user_id, real_name, display_name, is_bot, team_id or self.team_id)

    def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        ts: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A person posts; with `files` (from `self.files.add`) it is a `file_share` message, as Slack sends."""
        if ts is None:
            ts = self._ts.next()
        else:
            self._ts.seen(ts)
        author = self._users.get(user)
        team = author.team_id if author is not None else self.team_id
        message: Message = {"type": "message", "user": user, "text": text, "ts": ts, "team": team}
        if team != self.team_id:  # Slack Connect: the author's own workspace
            message["user_team"] = message["source_team"] = team
        if bot_id is None and subtype is None:
            message["client_msg_id"] = str(uuid.uuid4())
        if bot_id is not None:
            message["bot_id"] = bot_id
        if files:
            message.update(files=files, upload=True)
            subtype = subtype or "file_share"
        if subtype is not None:
            message["subtype"] = subtype
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
        self._store(channel, message)
        return {**message, "channel": channel, "channel_type": _channel_type(channel), "event_ts": ts}

    def messages(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        stored = self._channels.get(channel, [])
        if thread_ts is None:
            return [m for m in stored if _is_top_level(m)]
        return [m for m in stored if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts]

    def tasks(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The task updates a streamed message shows (each task's latest state, in the order they appeared)."""
        message = self._require(channel, ts)
        return list(message.get("tasks", {}).values())

    def bot_messages(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        return [m for m in self.messages(channel, thread_ts) if m.get("bot_id") == self.bot_id]

    # ---- internals

    def _store(self, channel: str, message: Message) -> None:
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            root = self._find(channel, thread_ts)
            if root is not None:
                root["thread_ts"] = thread_ts
                root["reply_count"] = root.get("reply_count", 0) + 1
                root["latest_reply"] = message["ts"]
                message.setdefault("parent_user_id", root.get("user"))
        insort(self._channels.setdefault(channel, []), message, key=lambda m: Decimal(m["ts"]))

    def _find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self._channels.get(channel, []) if m["ts"] == ts), None)

    def _require(self, channel: str, ts: str) -> Message:
        message = self._find(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _require_bot_message(self, args: dict[str, Any], error: str) -> Message:
        message = self._require(args.get("channel", ""), args.get("ts", ""))
        if message.get("bot_id") != self.bot_id:
            raise SlackError(error)
        return message

    def _new_bot_message(self, text: str, thread_ts: str | None) -> Message:
        message: Message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "text": text,
            "ts": self._ts.next(),
            "team": self.team_id,
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        return message

    @staticmethod
    def _public(message: Message) -> Message:
        return public(message)

    def _page(self, messages: list[Message], args: dict[str, Any]) -> Page:
        size = min(int(args.get("limit") or 100), 1000, self.page_size_cap or 1000)
        offset = _decode_cursor(args.get("cursor"))
        end = offset + size
        has_more = end < len(messages)
        return Page(messages[offset:end], has_more, _encode_cursor(end) if has_more else "")

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args["channel"], args["ts"]
        anchor = self._find(channel, ts)
        if anchor is None:
            raise SlackError("thread_not_found")
        thread = self.messages(channel, anchor.get("thread_ts") or ts)
        return self._page(in_range(thread, args), args).body()

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        newest_first = list(reversed(self.messages(args["channel"])))
        return self._page(in_range(newest_first, args), args).body()


def public(message: Message) -> Message:
    return {k: v for k, v in message.items() if k not in PRIVATE_KEYS}


def in_range(messages: list[Message], args: dict[str, Any]) -> list[Message]:
    oldest = _decimal(args.get("oldest"), Decimal(0), "invalid_ts_oldest")
    latest = _decimal(args.get("latest"), Decimal("Infinity"), "invalid_ts_latest")
    if truthy(args.get("inclusive")):
        return [m for m in messages if oldest <= Decimal(m["ts"]) <= latest]
    return [m for m in messages if oldest < Decimal(m["ts"]) < latest]


def truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _is_top_level(message: Message) -> bool:
    thread_ts = message.get("thread_ts")
    return thread_ts in (None, message["ts"]) or message.get("subtype") == "thread_broadcast"


def _channel_type(channel: str) -> str:
    return {"D": "im", "C": "channel", "G": "group"}.get(channel[:1], "mpim")


def _decimal(value: Any, default: Decimal, error: str) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else default
    except InvalidOperation as e:
        raise SlackError(error) from e


def _format_ts(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(str(cursor)).decode().removeprefix("offset:"))
    except (binascii.Error, ValueError) as e:
        raise SlackError("invalid_cursor") from e
