"""A fake Slack Web API (plus Socket Mode and response_url) served over real HTTP for tests.

Every call is held to the contract in `tests/contract/slack_methods.json` (see `contract.py`): a call our code
should never make is recorded in `violations` and fails the test; an error the fake answered on its own (not
injected by the test) is recorded in `refusals`.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import WSCloseCode, WSMsgType, web

from ..slack_admin import SlackAdmin
from ..slack_files import SlackFiles
from ..slack_search import SlackWorkspaceSearch
from . import contract
from .errors import Fault, SlackError
from .methods import Methods
from .store import Message, Store, Timestamps, User
from .streams import Streams

Handler = Callable[[dict[str, Any]], dict[str, Any]]

JSON_ARGS = ("blocks", "metadata", "chunks", "attachments", "prompts", "loading_messages", "view")
PAGED_METHODS = ("conversations.replies", "conversations.history")
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
    yaml.safe_load((Path(__file__).parents[3] / "manifest.yml").read_text())["oauth_config"]["scopes"]["bot"]
)


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float


@dataclass(frozen=True)
class Refusal:
    """A call the fake refused on its own, as Slack would have: the method, the error, the call's arguments."""

    method: str
    error: str
    args: dict[str, Any]


class FakeSlack(Methods, Streams, Store):
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
        self.streaming_error: str | None = None  # every chat.startStream is refused with it
        self.rate_tiers: dict[str, int] = dict(RATE_TIERS)  # calls allowed per minute, per method
        self.rate_limited: list[Call] = []  # every call the fake answered with a 429
        self.granted_scopes: list[str] = list(BOT_SCOPES)  # what the installed app's bot token may do
        self.calls: list[Call] = []
        self.refusals: list[Refusal] = []  # errors the fake answered on its own (not injected)
        self.injected: dict[str, list[Refusal]] = {}  # injected errors given, by method
        self.violations: list[contract.Violation] = []  # calls that break the contract: test failures
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
        self._users: dict[str, User] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._recent: dict[str, deque[float]] = {}  # when each rate-tiered method was last accepted
        self._response_urls = 0
        self._sockets: list[web.WebSocketResponse] = []  # in the order they connected
        self._ts = Timestamps()
        self._runner: web.AppRunner | None = None
        self.home_views: dict[str, dict[str, Any]] = {}  # user id -> the Home view last published
        self._port = 0
        self.files = SlackFiles(team_id)
        self.search = SlackWorkspaceSearch(self)
        self.admin = SlackAdmin(lambda: self.granted_scopes)  # user groups, and users.info's role flags
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
            "users.info": self.admin.with_roles(self._users_info),
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "assistant.threads.setStatus": self._set_status,
            "assistant.threads.setSuggestedPrompts": self._set_suggested_prompts,
            "assistant.threads.setTitle": self._set_title,
            "apps.connections.open": self._apps_connections_open,
            "files.info": self.files.info,
            "views.publish": self._views_publish,
            "assistant.search.context": self.search.context,
            "assistant.search.info": self.search.info,
            "conversations.info": self.search.conversations_info,
            "conversations.open": self.search.conversations_open,
            "usergroups.users.list": self.admin.usergroups_users_list,
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

    def response_url(self) -> str:
        self._response_urls += 1
        return f"{self.base_url}/response/{self._response_urls}"

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

    def fail_next(self, method: str, error: str, count: int = 1, *, channel: str | None = None, **where: str) -> None:
        """The next `count` calls of `method` (about `channel`, and with the arguments `where`, if given) get
        `error`, which must be documented for the method (or be one of Slack's common errors)."""
        if not contract.is_documented(method, error):
            raise ValueError(f"{error!r} is not a documented error of {method} (tests/contract/slack_methods.json)")
        self._add_faults(method, Fault(error, channel=channel, where=tuple(where.items())), count)

    def faults_left(self) -> int:
        """Injected answers not given yet (a test whose fault was never met proves nothing)."""
        return sum(len(queue) for queue in self._faults.values())

    def rate_limit_next(
        self, method: str, count: int = 1, retry_after: int = 1, *, channel: str | None = None, **where: str
    ) -> None:
        """HTTP 429 with `Retry-After` for the next `count` calls of `method` (about `channel`, with `where`)."""
        self._add_faults(method, Fault("ratelimited", 429, retry_after, channel, tuple(where.items())), count)

    def server_error_next(self, method: str, status: int = 503, count: int = 1) -> None:
        error = "service_unavailable" if status == 503 else "internal_error"
        self._add_faults(method, Fault(error, status), count)

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

    def _add_faults(self, method: str, fault: Fault, count: int) -> None:
        self._faults.setdefault(method, deque()).extend([fault] * count)

    def _take_fault(self, method: str, args: dict[str, Any]) -> Fault | None:
        queue = self._faults.get(method)
        fault = next((f for f in queue or () if f.applies_to(args)), None)
        if queue is not None and fault is not None:
            queue.remove(fault)
        return fault

    def _over_tier(self, method: str, now: float) -> Fault | None:
        """A 429 if `method` was already called as often as its tier allows in the last minute."""
        limit = self.rate_tiers.get(method)
        if limit is None:
            return None
        recent = self._recent.setdefault(method, deque())
        while recent and recent[0] <= now - RATE_WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= limit:
            return Fault("ratelimited", 429, max(1, math.ceil(recent[0] + RATE_WINDOW_SECONDS - now)))
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
            broken = contract.check_call(method, args)
            if broken is not None:
                error, violation = broken
                self.violations.append(violation)
                raise SlackError(error)
            fault = self._take_fault(method, args) or self._over_tier(method, call.at)
            if fault is not None:
                if fault.status == 429:
                    self.rate_limited.append(call)
                self.injected.setdefault(method, []).append(Refusal(method, fault.error, args))
                return fault.response()
            handler = self._handlers.get(method)
            if handler is None:
                self.violations.append(contract.Violation(method, "documented, but the fake does not serve it"))
                raise SlackError("unknown_method")
            if method in PAGED_METHODS and self.page_delay:
                await asyncio.sleep(self.page_delay)
            answer = handler(args)
            for listener in self.call_listeners:
                listener(call)
            return web.json_response({"ok": True, **answer})
        except SlackError as e:
            if not contract.is_documented(method, e.code):
                self.violations.append(contract.Violation(method, f"the fake answered undocumented {e.code!r}"))
            self.refusals.append(Refusal(method, e.code, args))
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


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _short(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={str(v)[:40]!r}" for k, v in args.items())
