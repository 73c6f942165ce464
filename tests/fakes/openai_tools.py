"""Model answers that use tools, for the fake OpenAI: a function call, and a hosted web search with citations.

Shapes follow OpenAI's documentation:
- function calling: https://platform.openai.com/docs/guides/function-calling (a `function_call` output item;
  streamed as `response.output_item.added`, `response.function_call_arguments.delta`/`.done`,
  `response.output_item.done`; the next request answers it with a `function_call_output` input item);
- web search: https://platform.openai.com/docs/guides/tools-web-search (a `web_search_call` output item, then a
  message whose `output_text` carries `url_citation` annotations: url, title, start_index, end_index);
- streaming events: https://platform.openai.com/docs/api-reference/responses-streaming
  (`response.web_search_call.in_progress`/`.searching`/`.completed`, `response.output_text.annotation.added`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
Send = Callable[..., Awaitable[None]]


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(24)


@dataclass(frozen=True)
class CallTool:
    """The model asks for a function tool (what an MCP tool is, to the Agents SDK)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    text: str = ""  # nothing said to the user in this response

    def output_items(self) -> list[JSON]:
        return [
            {
                "id": _id("fc_"),
                "type": "function_call",
                "status": "completed",
                "call_id": _id("call_"),
                "name": self.name,
                "arguments": json.dumps(self.arguments),
            }
        ]

    async def stream(self, send: Send, items: list[JSON]) -> None:
        [item] = items
        await send(
            "response.output_item.added", output_index=0, item={**item, "status": "in_progress", "arguments": ""}
        )
        where = {"item_id": item["id"], "output_index": 0}
        await send("response.function_call_arguments.delta", **where, delta=item["arguments"])
        await send("response.function_call_arguments.done", **where, name=item["name"], arguments=item["arguments"])
        await send("response.output_item.done", output_index=0, item=item)


@dataclass(frozen=True)
class Citation:
    url: str
    title: str
    quote: str  # the part of the answer this page supports


@dataclass(frozen=True)
class SearchTheWeb:
    """The model searches the web (OpenAI runs the search itself) and answers, citing pages."""

    text: str
    citations: tuple[Citation, ...] = ()
    query: str = "search query"
    failed: bool = False

    def annotations(self) -> list[JSON]:
        found = []
        for citation in self.citations:
            start = self.text.index(citation.quote)
            found.append(
                {
                    "type": "url_citation",
                    "start_index": start,
                    "end_index": start + len(citation.quote),
                    "url": citation.url,
                    "title": citation.title,
                }
            )
        return found

    def output_items(self) -> list[JSON]:
        search = {
            "id": _id("ws_"),
            "type": "web_search_call",
            "status": "failed" if self.failed else "completed",
            "action": {"type": "search", "query": self.query},
        }
        text = {"type": "output_text", "text": self.text, "annotations": self.annotations(), "logprobs": []}
        message = {
            "id": _id("msg_"),
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [text],
        }
        return [search, message]

    async def stream(self, send: Send, items: list[JSON]) -> None:
        search, message = items
        await send("response.output_item.added", output_index=0, item={**search, "status": "in_progress"})
        where = {"item_id": search["id"], "output_index": 0}
        await send("response.web_search_call.in_progress", **where)
        await send("response.web_search_call.searching", **where)
        if not self.failed:
            await send("response.web_search_call.completed", **where)
        await send("response.output_item.done", output_index=0, item=search)

        empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        await send(
            "response.output_item.added", output_index=1, item={**message, "status": "in_progress", "content": []}
        )
        where = {"item_id": message["id"], "output_index": 1, "content_index": 0}
        await send("response.content_part.added", **where, part=empty)
        await send("response.output_text.delta", **where, delta=self.text, logprobs=[])
        for index, annotation in enumerate(message["content"][0]["annotations"]):
            await send("response.output_text.annotation.added", **where, annotation_index=index, annotation=annotation)
        await send("response.output_text.done", **where, text=self.text, logprobs=[])
        await send("response.content_part.done", **where, part=message["content"][0])
        await send("response.output_item.done", output_index=1, item=message)


ToolReply = CallTool | SearchTheWeb


def unanswered_calls(previous_output: list[JSON], new_input: list[JSON]) -> str | None:
    """The Responses API's check when chaining: every function call of the previous response needs its output in
    the new input, and every output needs a call. Message shapes as reported in openai/openai-agents-python#673
    and continuedev/continue#10092 (HTTP 400, type invalid_request_error, param input, code null)."""
    calls = {i["call_id"] for i in previous_output if i.get("type") == "function_call"}
    outputs = {i.get("call_id") for i in new_input if i.get("type") == "function_call_output"}
    calls_in_input = {i.get("call_id") for i in new_input if i.get("type") == "function_call"}
    for call_id in sorted(calls - outputs):
        return f"No tool output found for function call {call_id}."
    for call_id in sorted(outputs - calls - calls_in_input):
        return f"No tool call found for function call output with call_id {call_id}."
    return None
