"""The bare Agents SDK handler: the Agents SDK's `previous_response_id` pattern behind a Slack endpoint.

`Runner.run_streamed(agent, text, previous_response_id=...)` with the last response id of each thread kept
in a dict, and one `chat.postMessage` per answer. No de-duplication, no turn order, no Redis, nothing
shared between processes: what the bot's memory machinery is measured against. It checks Slack's
signature and acknowledges at once, as any correct handler must.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import aiohttp
from agents import Agent, OpenAIResponsesModel, Runner, set_trace_processors
from agents.tracing.processors import BackendSpanExporter, BatchTraceProcessor
from aiohttp import web
from openai import AsyncOpenAI
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient


class SdkHandler:
    def __init__(self, *, slack_api_url: str, bot_token: str, signing_secret: str, model: str) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._openai = AsyncOpenAI()  # OPENAI_BASE_URL and OPENAI_API_KEY from the environment
        self._agent = Agent(
            name="Assistant",
            instructions="You are a helpful assistant in a Slack workspace.",
            model=OpenAIResponsesModel(model=model, openai_client=self._openai),
        )
        self._session = aiohttp.ClientSession()
        self._slack = AsyncWebClient(token=bot_token, base_url=slack_api_url, session=self._session)
        self._last_response: dict[tuple[str, str], str] = {}  # (channel, thread) -> last response id
        self._tasks: set[asyncio.Task[None]] = set()
        # Traces go where the model calls go, as the bot's do (the SDK's default is OpenAI itself).
        base_url = os.environ["OPENAI_BASE_URL"].rstrip("/")
        exporter = BackendSpanExporter(api_key=os.environ["OPENAI_API_KEY"], endpoint=f"{base_url}/traces/ingest")
        set_trace_processors([BatchTraceProcessor(exporter)])

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
        thread = (event["channel"], event.get("thread_ts") or event["ts"])
        result = Runner.run_streamed(
            self._agent, event.get("text") or "", previous_response_id=self._last_response.get(thread)
        )
        async for _event in result.stream_events():
            pass  # the pattern's loop; the answer is posted once, whole
        if result.last_response_id:
            self._last_response[thread] = result.last_response_id
        await self._slack.chat_postMessage(channel=thread[0], thread_ts=thread[1], text=str(result.final_output))
