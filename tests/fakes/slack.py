"""A fake Slack Web API (plus Socket Mode and response_url) served over real HTTP for tests."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import time
import uuid
from bisect import insort
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from aiohttp import WSCloseCode, WSMsgType, web

from .slack_files import SlackFiles
from .slack_interactivity import InteractivityError, SlackInteractivity, block_actions_payload, check_interactive_block

Message = dict[str, Any]
Handler = Callable[[dict[str, Any]], dict[str, Any]]

JSON_ARGS = ("blocks", "metadata", "chunks", "attachments", "prompts", "loading_messages", "view")
PRIVATE_KEYS = ("streaming", "chunks", "edits", "tasks")
# Streaming chunk types and task statuses: https://docs.slack.dev/reference/methods/chat.appendStream#chunks
CHUNK_TYPES = ("markdown_text", "task_update", "plan_update", "blocks")
TASK_STATUSES = ("pending", "in_progress", "complete", "error")
TASK_DISPLAY_MODES = ("timeline", "plan")  # https://docs.slack.dev/reference/methods/chat.startStream
PAGED_METHODS = ("conversations.replies", "conversations.history")
# Limits from Slack's method pages (docs.slack.dev/reference/methods/<method>):
# chat.postMessage truncates `text` past 40,000 characters (warning `message_truncated`);
TEXT_LIMIT = 40_000
# chat.update refuses a `text` over 4,000 characters with `msg_too_long`;
UPDATE_TEXT_LIMIT = 4_000
# the markdown blocks of one message hold 12,000 characters (`msg_blocks_too_long`, bolt-js issue 2509);
MARKDOWN_BLOCKS_LIMIT = 12_000
SECTION_TEXT_LIMIT = 3_000
MAX_BLOCKS = 50
# `markdown_text` is "limited to 12,000 characters" on every chat method that takes it; the pages name no error
# code for going over, so the fake answers `invalid_arguments` (Slack's common error for a bad argument).
MARKDOWN_TEXT_LIMIT = 12_000

# Rate tiers, per method per app per workspace (docs.slack.dev/apis/web-api/rate-limits; each method's page names
# its tier): Tier 2 "20+ per minute", Tier 3 "50+", Tier 4 "100+". The fake allows exactly that many calls in any
# 60 seconds and answers HTTP 429 with `Retry-After` beyond. chat.postMessage's special tier (about one message
# a second per channel, bursts allowed) is not enforced: its burst size is not documented.
RATE_TIERS: dict[str, int] = {
    "chat.startStream": 20,  # Tier 2
    "chat.stopStream": 20,  # Tier 2
    "chat.update": 50,  # Tier 3
    "chat.appendStream": 100,  # Tier 4
}
RATE_WINDOW_SECONDS = 60.0
# The scopes manifest.yml asks for: what an app installed from it has.
BOT_SCOPES: tuple[str, ...] = tuple(
    yaml.safe_load((Path(__file__).parents[2] / "manifest.yml").read_text())["oauth_config"]["scopes"]["bot"]
)


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float


@dataclass
class _Fault:
    error: str
    status: int = 200
    retry_after: int | None = None
    channel: str | None = None  # only calls about this channel get the fault

    def applies_to(self, args: dict[str, Any]) -> bool:
        return self.channel is None or self.channel in (args.get("channel"), args.get("channel_id"))

    def response(self) -> web.Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return web.json_response({"ok": False, "error": self.error}, status=self.status, headers=headers)


class SlackError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class _Page:
    messages: list[Message]
    has_more: bool
    next_cursor: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "messages": [_public(m) for m in self.messages],
            "has_more": self.has_more,
            "response_metadata": {"next_cursor": self.next_cursor},
        }


@dataclass
class _User:
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
class _Timestamps:
    last_micros: int = 0

    def next(self) -> str:
        self.last_micros = max(time.time_ns() // 1000, self.last_micros + 1)
        return _format_ts(self.last_micros)

    def seen(self, ts: str) -> None:
        self.last_micros = max(self.last_micros, int(Decimal(ts) * 1_000_000))


class FakeSlack:
    def __init__(
        self,
        *,
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_name: str = "helper",
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.page_size_cap: int | None = None
        self.page_delay: float = 0.0
        self.streaming_error: str | None = None
        self.rate_tiers: dict[str, int] = dict(RATE_TIERS)  # calls allowed per minute, per method
        self.rate_limited: list[Call] = []  # every call the fake answered with a 429
        self.granted_scopes: list[str] = list(BOT_SCOPES)  # what the installed app's bot token may do
        self.calls: list[Call] = []
        # Called with each call Slack answered ok, once answered (the benchmarks time answers with it).
        self.call_listeners: list[Callable[[Call], None]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.reactions: dict[tuple[str, str], set[str]] = {}
        self.statuses: list[tuple[str, str, str]] = []
        self.suggested_prompts: list[dict[str, Any]] = []
        self.titles: list[dict[str, Any]] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.socket_connected = asyncio.Event()
        self._channels: dict[str, list[Message]] = {}
        self._users: dict[str, _User] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._recent: dict[str, deque[float]] = {}  # when each rate-tiered method was last accepted
        self._response_urls = 0
        self._sockets: list[web.WebSocketResponse] = []  # in the order they connected
        self._ts = _Timestamps()
        self._runner: web.AppRunner | None = None
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> the Home view last published
        self._port = 0
        self.files = SlackFiles(team_id)
        self.interactivity = SlackInteractivity(team_id, _check_blocks)
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "conversations.replies": self._conversations_replies,
            "conversations.history": self._conversations_history,
            "users.info": self._users_info,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "assistant.threads.setStatus": self._set_status,
            "assistant.threads.setSuggestedPrompts": self._set_suggested_prompts,
            "assistant.threads.setTitle": self._set_title,
            "apps.connections.open": self._apps_connections_open,
            "files.info": self.files.info,
            "views.publish": self._views_publish,
            "views.open": self.interactivity.views_open,
            "usergroups.users.list": self.interactivity.usergroups_users_list,
        }
        self.add_user(self.bot_user_id, self.bot_name, is_bot=True)

    # ---- lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post(r"/response/{n:\d+}", self._response)
        app.router.add_get("/socket", self._socket)
        self.files.add_routes(app)
        # open websockets would otherwise hold cleanup for the default 60s
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        self.files.base_url = self.base_url

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # ---- test-side helpers

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def add_user(
        self,
        user_id: str,
        real_name: str,
        display_name: str = "",
        *,
        is_bot: bool = False,
        team_id: str | None = None,  # another workspace's user, as in a Slack Connect channel
    ) -> None:
        self._users[user_id] = _User(user_id, real_name, display_name, is_bot, team_id or self.team_id)

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

    def response_url(self) -> str:
        self._response_urls += 1
        return f"{self.base_url}/response/{self._response_urls}"

    def messages(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        stored = self._channels.get(channel, [])
        if thread_ts is None:
            return [m for m in stored if _is_top_level(m)]
        return [m for m in stored if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts]

    def click(self, channel: str, ts: str, action_id: str, *, user: str, feedback: str = "positive") -> dict[str, Any]:
        """The `block_actions` payload Slack sends when `user` clicks `action_id` on the message at `ts`."""
        return block_actions_payload(
            team_id=self.team_id,
            channel=channel,
            message=self._require(channel, ts),
            user_id=user,
            action_id=action_id,
            response_url=self.response_url(),
            feedback=feedback,
        )

    def tasks(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The task updates a streamed message shows (each task's latest state, in the order they appeared)."""
        message = self._require(channel, ts)
        return list(message.get("tasks", {}).values())

    def bot_messages(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        return [m for m in self.messages(channel, thread_ts) if m.get("bot_id") == self.bot_id]

    # the `timeout` parameter name is part of the fake's API used by the tests
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        name = getattr(predicate, "__qualname__", repr(predicate))
        await self._poll(predicate, timeout, lambda: f"condition {name} not met")

    async def wait_for_bot_messages(
        self,
        channel: str,
        thread_ts: str | None,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[Message]:
        def finished() -> list[Message]:
            return [m for m in self.bot_messages(channel, thread_ts) if not m.get("streaming")]

        def describe() -> str:
            texts = [m.get("text", "")[:80] for m in self.bot_messages(channel, thread_ts)]
            return f"expected {count} finished bot messages in {channel}/{thread_ts}, have {texts}"

        await self._poll(lambda: len(finished()) >= count, timeout, describe)
        return finished()

    # ---- knobs

    def rate_limit_next(self, method: str, count: int = 1, retry_after: int = 1, *, channel: str | None = None) -> None:
        self._add_faults(method, _Fault("ratelimited", 429, retry_after, channel), count)

    def fail_next(self, method: str, error: str, count: int = 1) -> None:
        self._add_faults(method, _Fault(error), count)

    def server_error_next(self, method: str, status: int = 503, count: int = 1) -> None:
        error = "service_unavailable" if status == 503 else "internal_error"
        self._add_faults(method, _Fault(error, status), count)

    # ---- socket mode

    @property
    def socket_connections(self) -> int:
        return len(self._sockets)

    async def socket_send(self, envelope: dict[str, Any], connection: int = 0) -> None:
        """Send over one open connection, as Slack does with each envelope when an app has several.

        https://api.slack.com/apis/connections/socket-implement (multiple connections): up to 10 per app, each
        event goes to one of them.
        """
        if len(self._sockets) <= connection:
            raise AssertionError(f"no Socket Mode connection number {connection} ({len(self._sockets)} open)")
        await self._sockets[connection].send_str(json.dumps(envelope))

    # ---- internals: plumbing

    async def _poll(self, predicate: Callable[[], bool], seconds: float, describe: Callable[[], str]) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                recent = [f"{c.method}({_short(c.args)})" for c in self.calls[-8:]]
                raise AssertionError(f"timed out after {seconds}s: {describe()}; recent calls: {recent}")
            await asyncio.sleep(0.01)

    def _add_faults(self, method: str, fault: _Fault, count: int) -> None:
        self._faults.setdefault(method, deque()).extend([fault] * count)

    def _take_fault(self, method: str, args: dict[str, Any]) -> _Fault | None:
        queue = self._faults.get(method)
        fault = next((f for f in queue or () if f.applies_to(args)), None)
        if queue is not None and fault is not None:
            queue.remove(fault)
        return fault

    def _over_tier(self, method: str, now: float) -> _Fault | None:
        """A 429 if `method` was already called as often as its tier allows in the last minute."""
        limit = self.rate_tiers.get(method)
        if limit is None:
            return None
        recent = self._recent.setdefault(method, deque())
        while recent and recent[0] <= now - RATE_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= limit:
            return _Fault("ratelimited", 429, max(1, math.ceil(recent[0] + RATE_WINDOW_SECONDS - now)))
        recent.append(now)
        return None

    async def _api(self, request: web.Request) -> web.Response:
        response = await self._answer_api(request)
        if request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
            # Slack reports a token's scopes on every Web API response (docs.slack.dev/authentication/tokens,
            # "x-oauth-scopes"; also docs.slack.dev/legacy/legacy-authentication/legacy-oauth-scopes).
            response.headers["x-oauth-scopes"] = ",".join(self.granted_scopes)
        return response

    async def _answer_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        call = Call(method, args, time.monotonic())
        self.calls.append(call)
        try:
            _authorize(method, request.headers.get("Authorization", ""))
            fault = self._take_fault(method, args) or self._over_tier(method, call.at)
            if fault is not None:
                if fault.status == 429:
                    self.rate_limited.append(call)
                return fault.response()
            handler = self._handlers.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            if method in PAGED_METHODS and self.page_delay:
                await asyncio.sleep(self.page_delay)
            answer = handler(args)
            for listener in self.call_listeners:
                listener(call)
            return web.json_response({"ok": True, **answer})
        except (SlackError, InteractivityError) as e:
            return web.json_response({"ok": False, "error": e.code})

    async def _response(self, request: web.Request) -> web.Response:
        if not 1 <= int(request.match_info["n"]) <= self._response_urls:
            return web.Response(status=404, text="expired_url")
        self.ephemerals.append(await request.json())
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # autoping (default) answers the client's pings
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(self._hello())
        self.socket_connected.set()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.socket_acks.append(json.loads(msg.data))
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self.socket_connected.clear()
        return ws

    def _hello(self) -> dict[str, Any]:
        debug_info = {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 3600}
        return {
            "type": "hello",
            "num_connections": len(self._sockets),
            "debug_info": debug_info,
            "connection_info": {"app_id": "A1"},
        }

    # ---- internals: message store

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

    def _page(self, messages: list[Message], args: dict[str, Any]) -> _Page:
        size = min(int(args.get("limit") or 100), 1000, self.page_size_cap or 1000)
        offset = _decode_cursor(args.get("cursor"))
        end = offset + size
        has_more = end < len(messages)
        return _Page(messages[offset:end], has_more, _encode_cursor(end) if has_more else "")

    # ---- Web API methods

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require_arg(args, "channel", "channel_not_found")
        _check_markdown_text(args, alone=True)
        text = args.get("text") or args.get("markdown_text")
        blocks = args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if blocks is not None:
            _check_blocks(blocks)
        message = self._new_bot_message((text or "")[:TEXT_LIMIT], args.get("thread_ts"))
        for key in ("blocks", "metadata", "attachments"):
            if args.get(key) is not None:
                message[key] = args[key]
        if message.get("thread_ts") and _truthy(args.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
        self._store(channel, message)
        return {"channel": channel, "ts": message["ts"], "message": _public(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        # docs.slack.dev/reference/methods/chat.update: `msg_too_long` "The `text` field cannot exceed 4,000
        # characters"; `streaming_state_conflict` "The message is currently streaming text and cannot be edited".
        message = self._require_bot_message(args, "cant_update_message")
        _check_markdown_text(args, alone=True)
        if len(args.get("text") or "") > UPDATE_TEXT_LIMIT:
            raise SlackError("msg_too_long")
        if message.get("streaming"):
            raise SlackError("streaming_state_conflict")
        if args.get("blocks") is not None:
            _check_blocks(args["blocks"])
            message["blocks"] = args["blocks"]
        text = args.get("text", args.get("markdown_text"))
        if text is not None:
            message["text"] = text[:TEXT_LIMIT]
        message["edits"] = message.get("edits", 0) + 1
        public = _public(message)
        return {"channel": args["channel"], "ts": message["ts"], "text": message["text"], "message": public}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._require_bot_message(args, "cant_delete_message")
        self._channels[args["channel"]].remove(message)
        self.reactions.pop((args["channel"], message["ts"]), None)
        return {"channel": args["channel"], "ts": message["ts"]}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        _require_arg(args, "channel", "channel_not_found")
        _require_arg(args, "user", "user_not_in_channel")
        self.ephemerals.append(args)
        return {"message_ts": self._ts.next()}

    def _chat_start_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        # docs.slack.dev/reference/methods/chat.startStream: recipient_user_id and recipient_team_id ("the team the
        # user receiving the streaming text belongs to") are "Required when streaming to channels"; errors
        # `missing_recipient_user_id`, `missing_recipient_team_id`, `user_not_found`. The page does not say what a
        # team id other than the user's gets; the fake answers `user_not_found`, as for a user Slack cannot find.
        if self.streaming_error is not None:
            raise SlackError(self.streaming_error)
        channel = _require_arg(args, "channel", "channel_not_found")
        thread_ts = _require_arg(args, "thread_ts", "invalid_arguments")
        if args.get("task_display_mode") not in (None, *TASK_DISPLAY_MODES):
            raise SlackError("invalid_arguments")
        _check_chunks(args)
        _check_markdown_text(args)
        if not channel.startswith("D"):
            user_id = _require_arg(args, "recipient_user_id", "missing_recipient_user_id")
            team_id = _require_arg(args, "recipient_team_id", "missing_recipient_team_id")
            user = self._users.get(user_id)
            if user is None or user.team_id != team_id:
                raise SlackError("user_not_found")
        text = _stream_text(args)
        message = self._new_bot_message(text, thread_ts)
        message["streaming"] = True
        message["chunks"] = [text] if text else []
        message["tasks"] = {}
        _record_tasks(message, args)
        self._store(channel, message)
        return {"channel": channel, "ts": message["ts"]}

    def _chat_append_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._streaming_message(args)
        _check_chunks(args)
        _check_markdown_text(args)
        _append_chunk(message, _stream_text(args))
        _record_tasks(message, args)
        return {"channel": args["channel"], "ts": message["ts"]}

    def _chat_stop_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._streaming_message(args)
        _check_chunks(args)
        _check_markdown_text(args)
        _append_chunk(message, _stream_text(args))
        _record_tasks(message, args)
        for key in ("blocks", "metadata"):
            if args.get(key) is not None:
                message[key] = args[key]
        message["streaming"] = False
        return {"channel": args["channel"], "ts": message["ts"], "message": _public(message)}

    def _streaming_message(self, args: dict[str, Any]) -> Message:
        message = self._require(args.get("channel", ""), args.get("ts", ""))
        if not message.get("streaming"):
            raise SlackError("message_not_in_streaming_state")
        return message

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = args.get("channel", ""), args.get("ts", "")
        anchor = self._find(channel, ts)
        if anchor is None:
            raise SlackError("thread_not_found")
        thread = self.messages(channel, anchor.get("thread_ts") or ts)
        return self._page(_in_range(thread, args), args).body()

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = _require_arg(args, "channel", "channel_not_found")
        newest_first = list(reversed(self.messages(channel)))
        return self._page(_in_range(newest_first, args), args).body()

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(args.get("user", ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.to_api()}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        key, name = self._reaction_target(args)
        names = self.reactions.setdefault(key, set())
        if name in names:
            raise SlackError("already_reacted")
        names.add(name)
        return {}

    def _reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        key, name = self._reaction_target(args)
        names = self.reactions.get(key, set())
        if name not in names:
            raise SlackError("no_reaction")
        names.discard(name)
        if not names:
            del self.reactions[key]
        return {}

    def _reaction_target(self, args: dict[str, Any]) -> tuple[tuple[str, str], str]:
        channel, ts = args.get("channel", ""), args.get("timestamp", "")
        self._require(channel, ts)
        return (channel, ts), _require_arg(args, "name", "invalid_name")

    def _set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        # docs.slack.dev/reference/methods/assistant.threads.setStatus: any thread the bot can write in (chat:write,
        # since 2026-03, also channel threads); errors `channel_not_found`, `invalid_thread_ts`.
        channel = _require_arg(args, "channel_id", "channel_not_found")
        thread_ts = _require_arg(args, "thread_ts", "invalid_thread_ts")
        if self._find(channel, thread_ts) is None:
            raise SlackError("invalid_thread_ts")
        self.statuses.append((channel, thread_ts, args.get("status", "")))
        return {}

    def _set_suggested_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        _require_arg(args, "channel_id", "invalid_arguments")
        self.suggested_prompts.append(args)
        return {}

    def _set_title(self, args: dict[str, Any]) -> dict[str, Any]:
        _require_arg(args, "channel_id", "invalid_arguments")
        self.titles.append(args)
        return {}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        # docs.slack.dev/reference/methods/views.publish: `user_id` and `view` required; a Home tab view has
        # `type: home` and at most 100 blocks (docs.slack.dev/reference/views/home-tab-views).
        user_id, view = args.get("user_id"), args.get("view")
        if not user_id or not view:
            raise SlackError("invalid_arguments")
        view = json.loads(view) if isinstance(view, str) else view
        if view.get("type") != "home" or len(view.get("blocks") or []) > 100:
            raise SlackError("invalid_arguments")
        _check_blocks(view["blocks"])
        if user_id not in self._users:
            raise SlackError("user_not_found")
        self.home_views[user_id] = view
        return {"ok": True, "view": {"id": f"V{len(self.home_views):08d}", **view}}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self._port}/socket"}


# ---- module helpers


async def _read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    args.pop("token", None)
    for key in JSON_ARGS:
        if isinstance(args.get(key), str):
            args[key] = _maybe_json(args[key])
    return args


def _authorize(method: str, header: str) -> None:
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token:
        raise SlackError("not_authed")
    is_app_token = token.startswith("xapp-")
    if method == "apps.connections.open" and not is_app_token:
        raise SlackError("invalid_auth")
    if method != "apps.connections.open" and is_app_token:
        raise SlackError("not_allowed_token_type")
    if not token.startswith(("xoxb-", "xoxp-", "xapp-")):
        raise SlackError("invalid_auth")


def _check_blocks(blocks: Any) -> None:
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    if len(blocks) > MAX_BLOCKS:
        raise SlackError("invalid_blocks")
    markdown_chars = 0
    for block in blocks:
        try:
            check_interactive_block(block)
        except InteractivityError as error:
            raise SlackError(error.code) from None
        if block.get("type") == "section" and len(_section_text(block)) > SECTION_TEXT_LIMIT:
            raise SlackError("invalid_blocks")
        if block.get("type") == "markdown":
            markdown_chars += len(block.get("text", ""))
    if markdown_chars > MARKDOWN_BLOCKS_LIMIT:
        raise SlackError("msg_blocks_too_long")


def _check_markdown_text(args: dict[str, Any], *, alone: bool = False) -> None:
    markdown_text = args.get("markdown_text")
    if markdown_text is None:
        return
    if len(markdown_text) > MARKDOWN_TEXT_LIMIT:
        raise SlackError("invalid_arguments")
    # chat.postMessage and chat.update: "This argument should not be used in conjunction with `blocks` or `text`."
    if alone and (args.get("text") is not None or args.get("blocks") is not None):
        raise SlackError("markdown_text_conflict")


def _section_text(block: dict[str, Any]) -> str:
    return (block.get("text") or {}).get("text", "")


def _stream_text(args: dict[str, Any]) -> str:
    pieces = [c.get("text", "") for c in args.get("chunks") or [] if c.get("type") == "markdown_text"]
    return (args.get("markdown_text") or "") + "".join(pieces)


def _check_chunks(args: dict[str, Any]) -> None:
    """The documented chunk shapes; where Slack's answer to a malformed chunk is undocumented, invalid_arguments."""
    chunks = args.get("chunks")
    if chunks is None:
        return
    if not isinstance(chunks, list):
        raise SlackError("invalid_arguments")
    for chunk in chunks:
        if not isinstance(chunk, dict) or chunk.get("type") not in CHUNK_TYPES:
            raise SlackError("invalid_arguments")
        if chunk["type"] == "task_update":
            if not chunk.get("id") or not chunk.get("title") or chunk.get("status") not in TASK_STATUSES:
                raise SlackError("invalid_arguments")
            for source in chunk.get("sources") or []:
                if source.get("type") != "url" or not source.get("url") or not source.get("text"):
                    raise SlackError("invalid_arguments")


def _record_tasks(message: Message, args: dict[str, Any]) -> None:
    """A task's latest update, by id, as the message shows it."""
    for chunk in args.get("chunks") or []:
        if chunk.get("type") == "task_update":
            message["tasks"][chunk["id"]] = chunk


def _append_chunk(message: Message, text: str) -> None:
    if text:
        message["text"] += text
        message["chunks"].append(text)


def _in_range(messages: list[Message], args: dict[str, Any]) -> list[Message]:
    oldest = _decimal(args.get("oldest"), Decimal(0), "invalid_ts_oldest")
    latest = _decimal(args.get("latest"), Decimal("Infinity"), "invalid_ts_latest")
    if _truthy(args.get("inclusive")):
        return [m for m in messages if oldest <= Decimal(m["ts"]) <= latest]
    return [m for m in messages if oldest < Decimal(m["ts"]) < latest]


def _is_top_level(message: Message) -> bool:
    thread_ts = message.get("thread_ts")
    return thread_ts in (None, message["ts"]) or message.get("subtype") == "thread_broadcast"


def _public(message: Message) -> Message:
    return {k: v for k, v in message.items() if k not in PRIVATE_KEYS}


def _require_arg(args: dict[str, Any], name: str, error: str) -> str:
    value = args.get(name)
    if not value:
        raise SlackError(error)
    return str(value)


def _channel_type(channel: str) -> str:
    return {"D": "im", "C": "channel", "G": "group"}.get(channel[:1], "mpim")


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


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


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _short(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={str(v)[:40]!r}" for k, v in args.items())
