"""Serving Slack: HTTP mode (`POST /slack/events`) or Socket Mode, plus `GET /healthz` and `GET /metrics`."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.running.app import Bot
from bot.running.metrics import metrics_handler

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SHUTDOWN_DRAIN_SECONDS = 20.0  # Heroku-style hosts allow 30s between SIGTERM and SIGKILL
# Slack may deliver hundreds of events at once. Connections past the listen backlog are dropped by the kernel and
# the sender waits for its SYN to be retried (1 s, then 3 s, ...): aiohttp's default of 128 made acks take seconds.
LISTEN_BACKLOG = 2048


def web_app(bot: Bot, *, with_events: bool = True) -> web.Application:
    """The HTTP endpoints: Slack's events, commands and interactivity on one path, and a health check."""

    async def slack_events(request: web.Request) -> web.Response:
        try:
            bolt_request = await to_bolt_request(request)
        except Exception:  # a body Bolt cannot even parse
            return web.json_response({"error": "malformed request"}, status=400)
        if (bolt_request.raw_body and not bolt_request.body) or not is_well_formed(bolt_request.body):
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await bot.bolt.async_dispatch(bolt_request))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response(await bot.status())

    app = web.Application()
    if with_events:
        app.router.add_post(EVENTS_PATH, slack_events)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler(bot.settings.metrics_token))
    return app


# Parts of a Slack payload that Bolt reads as objects: anything else there would make it fail with a 500.
_OBJECT_FIELDS = ("event", "team", "user", "channel", "enterprise", "message", "view", "container")


def is_well_formed(body: object) -> bool:
    """Whether a parsed request body has the shape Slack gives its payloads."""
    if not isinstance(body, dict):
        return False
    return all(body.get(name) is None or isinstance(body[name], dict) for name in _OBJECT_FIELDS)


async def serve(bot: Bot, *, host: str = "0.0.0.0", reuse_port: bool = False) -> None:
    """Run until SIGTERM or SIGINT, then stop taking work and let in-flight turns finish.

    `reuse_port`: several worker processes listen on the same port (SO_REUSEPORT) and the kernel spreads
    connections between them.
    """
    settings = bot.settings
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    runner: web.AppRunner | None = None
    socket_handler: AsyncSocketModeHandler | None = None
    if not settings.socket_mode or settings.port_is_set:
        runner = web.AppRunner(web_app(bot, with_events=not settings.socket_mode), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, settings.port, backlog=LISTEN_BACKLOG, reuse_port=reuse_port or None)
        await site.start()
    if settings.socket_mode:
        socket_handler = AsyncSocketModeHandler(bot.bolt, settings.slack_app_token)
        await socket_handler.connect_async()
        logger.info(
            "Connected to Slack in Socket Mode%s", f"; /healthz and /metrics on port {settings.port}" if runner else ""
        )
    else:
        logger.info("Listening for Slack on http://%s:%d%s", host, settings.port, EVENTS_PATH)

    await stop.wait()
    logger.info("Stopping: no new events; finishing the turns under way")
    if socket_handler is not None:
        await socket_handler.disconnect_async()
    if runner is not None:
        await runner.shutdown()
    await bot.close(drain_seconds=SHUTDOWN_DRAIN_SECONDS)
    if runner is not None:
        await runner.cleanup()
