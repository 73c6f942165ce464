"""The floor: a bare Slack handler with no memory that calls the model once and posts once.

It does what any correct HTTP handler must (check Slack's signature, acknowledge at once, answer in the
background) and nothing else: the raw `openai` client without streaming, one `chat.postMessage` with slack_sdk.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp import web
from openai import AsyncOpenAI
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient


class FloorHandler:
    def __init__(self, *, slack_api_url: str, bot_token: str, signing_secret: str, model: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._model = model
        self._openai = AsyncOpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY from the environment
        self._session = aiohttp.ClientSession()
        self._slack = AsyncWebClient(token=bot_token, base_url=slack_api_url, session=self._session)
        self._tasks: set[asyncio.Task[None]] = set()

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/slack/events", self._events)
        app.router.add_get("/healthz", self._healthz)
        return app

    async def close(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self._openai.close()
        await self._session.close()

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _events(self, request: web.Request) -> web.Response:
        body = await request.text()
        if not self._verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401)
        payload: dict[str, Any] = json.loads(body)
        event = payload.get("event") or {}
        if event.get("type") in ("app_mention", "message") and event.get("user") and not event.get("bot_id"):
            task = asyncio.create_task(self._answer(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.Response()

    async def _answer(self, event: dict[str, Any]) -> None:
        response = await self._openai.responses.create(model=self._model, input=event.get("text") or "")
        await self._slack.chat_postMessage(
            channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"], text=response.output_text
        )
