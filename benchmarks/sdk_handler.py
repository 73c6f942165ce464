"""The bare Agents SDK handler: the Agents SDK's `previous_response_id` pattern behind a Slack endpoint.

`Runner.run_streamed(agent, text, previous_response_id=...)` with the last response id of each thread kept
in a dict, and one `chat.postMessage` per answer. No de-duplication, no turn order, no Redis, nothing
shared between processes: what the bot's memory machinery is measured against. Its Slack endpoint is the
floor's (signature checked, acknowledged at once, answered in the background); only the answer differs.
"""

from __future__ import annotations

import os
from typing import Any

from agents import Agent, OpenAIResponsesModel, Runner, set_trace_processors
from agents.tracing.processors import BackendSpanExporter, BatchTraceProcessor

from .floor import FloorHandler


class SdkHandler(FloorHandler):
    def __init__(self, *, slack_api_url: str, bot_token: str, signing_secret: str, model: str) -> None:
        super().__init__(slack_api_url=slack_api_url, bot_token=bot_token, signing_secret=signing_secret, model=model)
        self._agent = Agent(
            name="Assistant",
            instructions="You are a helpful assistant in a Slack workspace.",
            model=OpenAIResponsesModel(model=model, openai_client=self._openai),
        )
        self._last_response: dict[tuple[str, str], str] = {}  # (channel, thread) -> last response id
        # Traces go where the model calls go, as the bot's do (the SDK's default is OpenAI itself).
        base_url = os.environ["OPENAI_BASE_URL"].rstrip("/")
        exporter = BackendSpanExporter(api_key=os.environ["OPENAI_API_KEY"], endpoint=f"{base_url}/traces/ingest")
        set_trace_processors([BatchTraceProcessor(exporter)])

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
