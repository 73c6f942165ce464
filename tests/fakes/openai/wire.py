"""What the fake OpenAI sends and reads on the wire: ids, error bodies, server-sent events, response objects,
input items and the token arithmetic (shapes from https://platform.openai.com/docs/api-reference/responses)."""

from __future__ import annotations

import itertools
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
Turn = tuple[str, str]


@dataclass
class RecordedRequest:
    body: JSON
    raw_bytes: int
    headers: dict[str, str]
    previous_response_id: str | None = None
    instructions: str | None = None
    input_texts: list[Turn] = field(default_factory=list)
    context: list[Turn] = field(default_factory=list)
    stream: bool = False
    model: str | None = None
    store: bool = True
    response_id: str | None = None
    status: int = 0  # 0 while in flight
    reply_text: str | None = None
    stream_broken: bool = False
    files_sent: list[str] = field(default_factory=list)  # hashes of the files in this request's own input
    files_seen: list[str] = field(default_factory=list)  # ... and in the whole chain it continues
    prompt_cache_key: str | None = None
    compact_threshold: int | None = None  # from context_management's compaction entry
    compacted: bool = False
    usage: JSON | None = None
    conversation: str | None = None
    include: list[str] = field(default_factory=list)
    input_items: list[JSON] = field(default_factory=list)  # as sent
    endpoint: str = "responses"  # or "chat.completions"

    @property
    def last_user_text(self) -> str:
        return latest_user_text(self.context)

    @property
    def tool_names(self) -> list[str]:
        """The tools offered to the model: function names, and the type of hosted tools (e.g. web_search)."""
        return [t.get("name") or t.get("type", "") for t in self.body.get("tools") or []]


@dataclass
class StoredResponse:
    id: str
    input_items: list[JSON]
    output_items: list[JSON]
    previous_response_id: str | None
    payload: JSON


class ApiError(Exception):
    """An answer other than 200: the status, OpenAI's error body, and headers (retry-after-ms, say)."""

    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status, headers=self.headers)


class MissingResponse(KeyError):
    def __init__(self, response_id: str) -> None:
        super().__init__(response_id)
        self.response_id = response_id


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(24)  # as long as OpenAI's ids, which the Redis footprint depends on


def error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> JSON:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def sse(event_type: str, data: JSON) -> bytes:
    return f"event: {event_type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


SendEvent = Callable[..., Awaitable[None]]


async def open_stream(request: web.Request, pending: JSON) -> tuple[web.StreamResponse, SendEvent]:
    """Start a streamed response as OpenAI does: `response.created`, then `response.in_progress`; the events
    after them are numbered on (https://platform.openai.com/docs/api-reference/responses-streaming)."""
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    seq = itertools.count()

    async def send(event_type: str, **fields: Any) -> None:
        await resp.write(sse(event_type, {"type": event_type, **fields, "sequence_number": next(seq)}))

    await send("response.created", response=pending)
    await send("response.in_progress", response=pending)
    return resp, send


def normalize_input(raw: object) -> list[JSON]:
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, dict)]
    return []


def content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n".join(parts)


def item_turn(item: JSON) -> Turn | None:
    kind = item.get("type", "message")
    if kind == "message":
        return str(item.get("role", "user")), content_text(item.get("content"))
    if kind == "function_call":
        return "function_call", f"{item.get('name')}({item.get('arguments', '')})"
    if kind == "function_call_output":
        output = item.get("output")
        if isinstance(output, list):  # content parts (input_text, ...)
            return "function_call_output", content_text(output)
        return "function_call_output", output if isinstance(output, str) else json.dumps(output)
    return None


def turns_of(items: list[JSON]) -> list[Turn]:
    return [turn for item in items if (turn := item_turn(item)) is not None]


def latest_user_text(turns: list[Turn]) -> str:
    return next((text for role, text in reversed(turns) if role == "user"), "")


def split_text(text: str, pieces: int) -> list[str]:
    """Split into min(pieces, len(text)) non-empty chunks, at word boundaries when there are enough words."""
    pieces = max(1, min(pieces, len(text)))
    if not text:
        return []
    words = re.findall(r"\s*\S+\s*", text) or [text]
    units = words if len(words) >= pieces else list(text)
    size, extra = divmod(len(units), pieces)
    chunks, start = [], 0
    for i in range(pieces):
        end = start + size + (1 if i < extra else 0)
        chunks.append("".join(units[start:end]))
        start = end
    return chunks


def count_tokens(text: str) -> int:
    """OpenAI's rule of thumb: a token is about 4 characters of English text
    (https://help.openai.com/en/articles/4936856-what-are-tokens-and-how-to-count-them)."""
    return max(1, -(-len(text) // 4))


def rendered_prompt(instructions: str | None, context: list[Turn]) -> list[str]:
    """The prompt in the order the model reads it, and the cache matches it: instructions, chain, new input."""
    return [*([instructions] if instructions else []), *(f"{role}: {text}" for role, text in context)]


def usage_of(rendered: list[str], reply: str, cached_tokens: int = 0) -> JSON:
    input_tokens = sum(count_tokens(part) for part in rendered)
    output_tokens = count_tokens(reply)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def compact_threshold(raw: object) -> int | None:
    """`context_management: [{"type": "compaction", "compact_threshold": N}]`, as the openai SDK sends it."""
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict) and entry.get("type") == "compaction":
            threshold = entry.get("compact_threshold")
            return threshold if isinstance(threshold, int) else None
    return None


def output_text(text: str) -> JSON:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def message_item(msg_id: str, text: str | None) -> JSON:
    """A completed assistant message, or an in-progress empty one when `text` is None."""
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "status": "in_progress" if text is None else "completed",
        "content": [] if text is None else [output_text(text)],
    }


def reasoning_item(rec: RecordedRequest) -> JSON:
    """A reasoning item; its encrypted content only when asked for with `include` (then it can be sent back
    with `store` false). https://platform.openai.com/docs/guides/reasoning#encrypted-reasoning-items"""
    item: JSON = {"id": new_id("rs_"), "type": "reasoning", "summary": []}
    if "reasoning.encrypted_content" in rec.include:
        item["encrypted_content"] = "gAAAA" + secrets.token_urlsafe(48)
    return item


def check_unstored_items(items: list[JSON]) -> None:
    """With `store` false nothing can be looked up by id: a reasoning item must carry its encrypted content.
    The error as OpenAI answers it (reported in continuedev/continue#9101 and can1357/oh-my-pi#41)."""
    for item in items:
        if item.get("type") == "reasoning" and item.get("id") and not item.get("encrypted_content"):
            message = (
                f"Item with id '{item['id']}' not found. Items are not persisted when `store` is set to false. "
                "Try again with `store` set to true, or remove this item from your input."
            )
            raise ApiError(404, error_body(message, "invalid_request_error", "input"))


def response_payload(rec: RecordedRequest, resp_id: str, created: int, output: list[JSON], usage: JSON | None) -> JSON:
    body = rec.body
    done = usage is not None
    return {
        "id": resp_id,
        "object": "response",
        "created_at": created,
        "status": "completed" if done else "in_progress",
        "background": False,
        "completed_at": int(time.time()) if done else None,
        "error": None,
        "incomplete_details": None,
        "instructions": rec.instructions,
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "model": rec.model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": rec.previous_response_id,
        "reasoning": {"effort": None, "summary": None},
        "store": rec.store,
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "user": None,
    }
