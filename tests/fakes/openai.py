"""A fake OpenAI Responses API served over real HTTP (aiohttp) for tests.

It also serves the Conversations API (openai_conversations.py) and streaming Chat Completions
(openai_chat.py); every model request, whichever endpoint, is recorded in `requests`.

Point a real `openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test")` at it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from openai import AsyncOpenAI

from .openai_chat import install_chat_completions
from .openai_conversations import ConversationError, FakeConversations, conversation_id_of, with_previous_response
from .openai_files import InputFileError, OpenAIFiles
from .openai_tools import CallTool, SearchTheWeb, ToolReply, unanswered_calls

JSON = dict[str, Any]
Turn = tuple[str, str]
ReplyFn = Callable[["RecordedRequest"], "str | ToolReply"]
Reply = str | CallTool | SearchTheWeb | ReplyFn
StreamFailMode = Literal["disconnect", "error_event", "error_event_flat"]
InvalidIdStyle = Literal["openai", "gateway"]
# How a request too long for the context window is refused: before any stream (HTTP 400), or inside it.
OverflowStyle = Literal["http", "response.failed", "error"]

# OpenAI's wording for a request longer than the model's context window, as seen in API errors
# (e.g. https://github.com/the-open-agent/openagent/issues/2344): code context_length_exceeded, param input.
CONTEXT_OVERFLOW_MESSAGE = (
    "Your input exceeds the context window of this model. Please adjust your input and try again."
)


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
        return _last_user_text(self.context)

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


@dataclass
class _Failure:
    status: int
    body: JSON
    headers: dict[str, str]


@dataclass
class _StreamBreak:
    after_deltas: int
    mode: StreamFailMode


class _ApiError(Exception):
    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


class _MissingResponse(KeyError):
    def __init__(self, response_id: str) -> None:
        super().__init__(response_id)
        self.response_id = response_id


# ---------------------------------------------------------------- wire helpers


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(24)  # as long as OpenAI's ids, which the Redis footprint depends on


def _error_body(message: str, type_: str, param: str | None = None, code: str | None = None) -> JSON:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _default_error(status: int, code: str | None, message: str | None) -> JSON:
    if status == 429:
        default_msg, type_, code = (
            "Rate limit reached for requests.",
            "requests",
            code or "rate_limit_exceeded",
        )
    elif status >= 500:
        default_msg, type_ = (
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
        )
    else:
        default_msg, type_ = f"Fake error {status}.", "invalid_request_error"
    return _error_body(message or default_msg, type_, None, code)


def _sse(event_type: str, data: JSON) -> bytes:
    return f"event: {event_type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


SendEvent = Callable[..., Awaitable[None]]


async def _open_stream(request: web.Request, pending: JSON) -> tuple[web.StreamResponse, SendEvent]:
    """Start a streamed response as OpenAI does: `response.created`, then `response.in_progress`; the events
    after them are numbered on (https://platform.openai.com/docs/api-reference/responses-streaming)."""
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"})
    await resp.prepare(request)
    seq = itertools.count()

    async def send(event_type: str, **fields: Any) -> None:
        await resp.write(_sse(event_type, {"type": event_type, **fields, "sequence_number": next(seq)}))

    await send("response.created", response=pending)
    await send("response.in_progress", response=pending)
    return resp, send


def _normalize_input(raw: object) -> list[JSON]:
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, dict)]
    return []


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    parts = [p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
    return "\n".join(parts)


def _item_turn(item: JSON) -> Turn | None:
    kind = item.get("type", "message")
    if kind == "message":
        return str(item.get("role", "user")), _content_text(item.get("content"))
    if kind == "function_call":
        return "function_call", f"{item.get('name')}({item.get('arguments', '')})"
    if kind == "function_call_output":
        output = item.get("output")
        if isinstance(output, list):  # content parts (input_text, ...)
            return "function_call_output", _content_text(output)
        return "function_call_output", output if isinstance(output, str) else json.dumps(output)
    return None


def _turns(items: list[JSON]) -> list[Turn]:
    return [turn for item in items if (turn := _item_turn(item)) is not None]


def _last_user_text(turns: list[Turn]) -> str:
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


def _rendered(instructions: str | None, context: list[Turn]) -> list[str]:
    """The prompt in the order the model reads it, and the cache matches it: instructions, chain, new input."""
    return [*([instructions] if instructions else []), *(f"{role}: {text}" for role, text in context)]


def _usage(rendered: list[str], reply: str, cached_tokens: int = 0) -> JSON:
    input_tokens = sum(count_tokens(part) for part in rendered)
    output_tokens = count_tokens(reply)
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached_tokens, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def _compact_threshold(raw: object) -> int | None:
    """`context_management: [{"type": "compaction", "compact_threshold": N}]`, as the openai SDK sends it."""
    for entry in raw if isinstance(raw, list) else []:
        if isinstance(entry, dict) and entry.get("type") == "compaction":
            threshold = entry.get("compact_threshold")
            return threshold if isinstance(threshold, int) else None
    return None


def _output_text(text: str) -> JSON:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _message_item(msg_id: str, text: str | None) -> JSON:
    """A completed assistant message, or an in-progress empty one when `text` is None."""
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "status": "in_progress" if text is None else "completed",
        "content": [] if text is None else [_output_text(text)],
    }


def _reasoning_item(rec: RecordedRequest) -> JSON:
    """A reasoning item; its encrypted content only when asked for with `include` (then it can be sent back
    with `store` false). https://platform.openai.com/docs/guides/reasoning#encrypted-reasoning-items"""
    item: JSON = {"id": _new_id("rs_"), "type": "reasoning", "summary": []}
    if "reasoning.encrypted_content" in rec.include:
        item["encrypted_content"] = "gAAAA" + secrets.token_urlsafe(48)
    return item


def _check_unstored_items(items: list[JSON]) -> None:
    """With `store` false nothing can be looked up by id: a reasoning item must carry its encrypted content.
    The error as OpenAI answers it (reported in continuedev/continue#9101 and can1357/oh-my-pi#41)."""
    for item in items:
        if item.get("type") == "reasoning" and item.get("id") and not item.get("encrypted_content"):
            message = (
                f"Item with id '{item['id']}' not found. Items are not persisted when `store` is set to false. "
                "Try again with `store` set to true, or remove this item from your input."
            )
            raise _ApiError(404, _error_body(message, "invalid_request_error", "input"))


def _response_payload(rec: RecordedRequest, resp_id: str, created: int, output: list[JSON], usage: JSON | None) -> JSON:
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


# ---------------------------------------------------------------- the fake


class FakeOpenAI:
    """Deterministic Responses API. Knobs are plain attributes; one-shot faults are queued by methods."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.responses: dict[str, StoredResponse] = {}
        self.latency: float = 0.0
        self.stream_chunks: int = 5
        self.stream_chunk_delay: float = 0.0
        self.traces_delay: float = 0.0
        self.trace_batches: int = 0
        self.trace_payloads: list[JSON] = []
        self.invalid_id_style: InvalidIdStyle = "openai"
        # The model's context window in tokens (None: unlimited), and how an overflow is refused.
        self.context_window: int | None = None
        self.overflow_style: OverflowStyle = "http"
        # Parameters this endpoint refuses as unknown, as a gateway that does not forward them would.
        self.unknown_parameters: set[str] = set()
        # The prompt cache (https://platform.openai.com/docs/guides/prompt-caching): exact-prefix matches only,
        # from 1,024 tokens, in steps of 128; grouped by prompt_cache_key. Requests without a key are not
        # matched here (OpenAI may still route them to a warm cache by the prefix's hash, less reliably).
        self.cache_min_tokens: int = 1024
        self.cache_step_tokens: int = 128
        self.compaction_keeps_turns: int = 4  # what this fake's compaction item stands for (the real one is opaque)
        self._cache: dict[str, deque[list[tuple[int, int]]]] = {}
        self._compactions: dict[str, list[Turn]] = {}
        # An organisation under Zero Data Retention: `store` is treated as false whatever the request says, so
        # nothing can be chained from (developers.openai.com/api/docs/guides/your-data, "Zero Data Retention").
        self.zero_data_retention = False
        self.default_reply: ReplyFn | None = None
        self.conversations = FakeConversations()
        self.reasoning: bool = False  # answers start with a reasoning item, as reasoning models' do
        self.base_url: str = ""
        self.port: int = 0
        self.files = OpenAIFiles()
        self._reply_count = 0
        self._replies: deque[Reply] = deque()
        self._failures: deque[_Failure] = deque()
        self._hangs: deque[float] = deque()
        self._holds: deque[asyncio.Event] = deque()
        self._held: list[asyncio.Event] = []
        self._stream_breaks: deque[_StreamBreak] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- lifecycle

    async def start(self, port: int = 0) -> FakeOpenAI:
        """Serve on `port` (any free one by default; pass the old `port` to come back after `stop`)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.on_response_prepare.append(self._add_request_id)
        app.router.add_post("/v1/responses", self._create)
        app.router.add_get("/v1/responses/{id}", self._get)
        app.router.add_delete("/v1/responses/{id}", self._delete)
        app.router.add_post("/v1/traces/ingest", self._traces)
        self.files.add_routes(app)
        self.conversations.install(app)
        install_chat_completions(app, self)
        self._closing = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        return self

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def client(self, **kwargs: Any) -> AsyncOpenAI:
        """A real AsyncOpenAI pointed at this fake (max_retries defaults to 0)."""
        kwargs.setdefault("max_retries", 0)
        return AsyncOpenAI(base_url=self.base_url, api_key="sk-test", **kwargs)

    # -- knobs

    def reply_with(self, *replies: Reply) -> None:
        self._replies.extend(replies)

    def fail_next(
        self,
        count: int = 1,
        status: int = 500,
        body: JSON | None = None,
        code: str | None = None,
        message: str | None = None,
        retry_after_ms: int | None = 10,
    ) -> None:
        payload = body if body is not None else _default_error(status, code, message)
        headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
        self._failures.extend(_Failure(status, payload, headers) for _ in range(count))

    def hang_next(self, count: int = 1, seconds: float = 30.0) -> None:
        self._hangs.extend([seconds] * count)

    def hold_next(self, count: int = 1) -> None:
        """The next `count` requests wait, without answering, until `release()` (or the fake stops)."""
        self._holds.extend(asyncio.Event() for _ in range(count))

    def release(self) -> None:
        """Let every held request (and every hold still queued) answer."""
        for gate in [*self._held, *self._holds]:
            gate.set()
        self._held.clear()
        self._holds.clear()

    @property
    def waiting(self) -> int:
        """How many requests are being held right now."""
        return sum(not gate.is_set() for gate in self._held)

    def fail_stream_midway_next(
        self, after_deltas: int = 2, mode: StreamFailMode = "disconnect", count: int = 1
    ) -> None:
        """disconnect: abort the socket; error_event: production-shaped `error`; *_flat: documented shape."""
        self._stream_breaks.extend(_StreamBreak(after_deltas, mode) for _ in range(count))

    def forget(self, response_id: str) -> None:
        self.responses.pop(response_id, None)

    def forget_all(self) -> None:
        """OpenAI lost every stored response and conversation."""
        self.responses.clear()
        self.conversations.stored.clear()

    # -- inspection

    def full_context_of(self, response_id: str) -> list[Turn]:
        """Turns of the whole chain ending with `response_id` (its input and output included)."""
        return self._render(self._chain_items(response_id))

    @property
    def last_request(self) -> RecordedRequest:
        return self.requests[-1]

    # -- internals: chain and replies

    def _chain_items(self, response_id: str | None) -> list[JSON]:
        chain: list[StoredResponse] = []
        while response_id is not None:
            stored = self.responses.get(response_id)
            if stored is None:
                raise _MissingResponse(response_id)
            chain.append(stored)
            response_id = stored.previous_response_id
        return [item for s in reversed(chain) for item in (*s.input_items, *s.output_items)]

    def _previous_not_found(self, response_id: str) -> _ApiError:
        if self.invalid_id_style == "gateway":
            body = _error_body(
                "Invalid `previous_response_id`.",
                "invalid_request_error",
                "previous_response_id",
                "invalid_request_error",
            )
        else:
            body = _error_body(
                f"Previous response with id '{response_id}' not found.",
                "invalid_request_error",
                "previous_response_id",
                "previous_response_not_found",
            )
        return _ApiError(400, body)

    def _next_reply(self, rec: RecordedRequest) -> str | ToolReply:
        self._reply_count += 1
        if self._replies:
            reply = self._replies.popleft()
            return reply(rec) if callable(reply) else reply
        if self.default_reply is not None:
            return self.default_reply(rec)
        seen = f" [files seen: {' '.join(rec.files_seen)}]" if rec.files_seen else ""
        return f"Reply {self._reply_count}: {rec.last_user_text}{seen}"

    # -- internals: request handling

    @staticmethod
    async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.setdefault("x-request-id", _new_id("req_"))

    @staticmethod
    def _check_auth(request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
            msg = (
                "You didn't provide an API key. You need to provide your API key in an Authorization"
                " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            raise _ApiError(401, _error_body(msg, "invalid_request_error"))

    @staticmethod
    def _parse_body(raw: bytes) -> JSON:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _ApiError(
                400, _error_body("We could not parse the JSON body of your request.", "invalid_request_error")
            )
        return body

    def _fill_request(self, rec: RecordedRequest) -> list[JSON]:
        body = rec.body
        if not body.get("model"):
            raise _ApiError(400, _error_body("Missing required parameter: 'model'.", "invalid_request_error", "model"))
        items = _normalize_input(body.get("input"))
        prev = body.get("previous_response_id")
        rec.previous_response_id = prev if isinstance(prev, str) else None
        instructions = body.get("instructions")
        rec.instructions = instructions if isinstance(instructions, str) else None
        rec.input_texts = _turns(items)
        rec.stream = body.get("stream") is True
        rec.model = str(body["model"])
        rec.store = body.get("store") is not False and not self.zero_data_retention
        for name in sorted(self.unknown_parameters & set(body)):
            # OpenAI's answer to a parameter it does not know; a gateway that does not forward it may answer so.
            raise _ApiError(
                400,
                _error_body(f"Unknown parameter: '{name}'.", "invalid_request_error", name, "unknown_parameter"),
            )
        key = body.get("prompt_cache_key")
        rec.prompt_cache_key = key if isinstance(key, str) else None
        rec.compact_threshold = _compact_threshold(body.get("context_management"))
        rec.conversation = conversation_id_of(body.get("conversation"))
        rec.include = [str(i) for i in body.get("include") or []]
        rec.input_items = items
        return items

    async def _pause(self) -> None:
        if self._holds:
            gate = self._holds.popleft()
            self._held.append(gate)
            waits = {asyncio.ensure_future(gate.wait()), asyncio.ensure_future(self._closing.wait())}
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
        seconds = (self._hangs.popleft() if self._hangs else 0.0) + self.latency
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def _resolve_context(self, rec: RecordedRequest, items: list[JSON]) -> list[Turn]:
        if not rec.store:
            _check_unstored_items(items)
        if rec.conversation is not None:
            try:
                if rec.previous_response_id is not None:
                    raise with_previous_response()
                chain = self.conversations.items_of(rec.conversation)
            except ConversationError as err:
                raise _ApiError(err.status, err.body) from None
        else:
            try:
                chain = self._chain_items(rec.previous_response_id)
            except _MissingResponse as missing:
                raise self._previous_not_found(missing.response_id) from None
        try:
            rec.files_sent = self.files.hashes_in(items)
        except InputFileError as error:
            raise _ApiError(400, _error_body(error.message, "invalid_request_error", error.param)) from None
        rec.files_seen = [*self.files.hashes_in([i for i in chain if i.get("role") == "user"]), *rec.files_sent]
        previous = self.responses[rec.previous_response_id].output_items if rec.previous_response_id else []
        if rec.conversation is not None:
            # The conversation holds the calls its last response made (its items are prepended to the input):
            # an output in the new input may answer one of those, as the Agents SDK sends it.
            answered = {i.get("call_id") for i in chain if i.get("type") == "function_call_output"}
            previous = [i for i in chain if i.get("type") == "function_call" and i.get("call_id") not in answered]
        problem = unanswered_calls(previous, items)
        if problem is not None:
            raise _ApiError(400, _error_body(problem, "invalid_request_error", "input", None))
        return self._render([*chain, *items])

    def _render(self, items: list[JSON]) -> list[Turn]:
        """Turns the model reads; a compaction item stands for everything before it
        (https://platform.openai.com/docs/guides/compaction: items before the latest one can be dropped)."""
        turns: list[Turn] = []
        for item in items:
            if item.get("type") == "compaction":
                turns = list(self._compactions.get(str(item.get("id")), []))
            elif (turn := _item_turn(item)) is not None:
                turns.append(turn)
        return turns

    def _fit_context(self, rec: RecordedRequest) -> JSON | None:
        """Compact past the request's threshold, then refuse what still exceeds the window; the compaction
        item to put first in the output, if any."""
        compaction: JSON | None = None
        if rec.compact_threshold is not None and self._tokens(rec) > rec.compact_threshold:
            # Server-side compaction: the response carries an opaque compaction item that replaces the context
            # for later turns (https://platform.openai.com/docs/guides/compaction, "Server-side compaction").
            compaction = {"id": _new_id("cmp_"), "type": "compaction", "encrypted_content": secrets.token_hex(32)}
            rec.context = rec.context[-self.compaction_keeps_turns :]
            self._compactions[compaction["id"]] = list(rec.context)
            rec.compacted = True
        if self.context_window is not None and self._tokens(rec) > self.context_window:
            # https://platform.openai.com/docs/guides/error-codes: HTTP 400, code context_length_exceeded.
            raise _ApiError(
                400, _error_body(CONTEXT_OVERFLOW_MESSAGE, "invalid_request_error", "input", "context_length_exceeded")
            )
        return compaction

    @staticmethod
    def _tokens(rec: RecordedRequest) -> int:
        return sum(count_tokens(part) for part in _rendered(rec.instructions, rec.context))

    def _cached_tokens(self, rec: RecordedRequest) -> int:
        """The longest prefix of this prompt an earlier one with the same key started with, in whole steps;
        this prompt is cached in turn (not the output: the next turn's chain adds it after this prefix)."""
        if rec.prompt_cache_key is None:
            return 0
        parts = [(hash(part), count_tokens(part)) for part in _rendered(rec.instructions, rec.context)]
        seen = self._cache.setdefault(rec.prompt_cache_key, deque(maxlen=16))
        best = 0
        for earlier in seen:
            matched = 0
            for mine, theirs in zip(parts, earlier, strict=False):
                if mine != theirs:
                    break
                matched += mine[1]
            best = max(best, matched)
        seen.append(parts)
        if best < self.cache_min_tokens:
            return 0
        return best - best % self.cache_step_tokens

    def _output(self, rec: RecordedRequest, text: str | None, compaction: JSON | None) -> list[JSON]:
        """The response's output items: the compaction item if any, a reasoning item when `reasoning` is on,
        then the message."""
        before = [compaction] if compaction is not None else []
        if self.reasoning:
            before.append(_reasoning_item(rec))
        return [*before, _message_item(_new_id("msg_"), text)]

    def _store(self, rec: RecordedRequest, items: list[JSON], payload: JSON) -> None:
        rec.response_id = payload["id"]
        if rec.conversation is not None:  # added to the conversation once the response completes
            self.conversations.append(rec.conversation, [*items, *payload["output"]])
        if rec.store:
            self.responses[payload["id"]] = StoredResponse(
                payload["id"], items, payload["output"], rec.previous_response_id, payload
            )

    @staticmethod
    def _error_response(err: _ApiError) -> web.Response:
        return web.json_response(err.body, status=err.status, headers=err.headers)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        rec = RecordedRequest(body={}, raw_bytes=len(raw), headers={k.lower(): v for k, v in request.headers.items()})
        self.requests.append(rec)
        try:
            rec.body = self._parse_body(raw)
            self._check_auth(request)
            items = self._fill_request(rec)
            await self._pause()
            if self._failures:
                failure = self._failures.popleft()
                raise _ApiError(failure.status, failure.body, failure.headers)
            rec.context = self._resolve_context(rec, items)
            compaction = self._fit_context(rec)
        except _ApiError as err:
            rec.status = err.status
            if rec.stream and err.body["error"]["code"] == "context_length_exceeded" and self.overflow_style != "http":
                return await self._stream_overflow(request, rec, err)
            return self._error_response(err)
        reply = self._next_reply(rec)
        if not isinstance(reply, str):
            return await self._tool_reply(request, rec, items, reply, compaction)
        rec.reply_text = reply
        cached = self._cached_tokens(rec)
        if rec.stream:
            return await self._stream(request, rec, items, compaction, cached)
        rec.usage = _usage(_rendered(rec.instructions, rec.context), rec.reply_text, cached)
        output = self._output(rec, rec.reply_text, compaction)
        payload = _response_payload(rec, _new_id("resp_"), int(time.time()), output, rec.usage)
        self._store(rec, items, payload)
        rec.status = 200
        return web.json_response(payload)

    async def _stream_overflow(self, request: web.Request, rec: RecordedRequest, err: _ApiError) -> web.StreamResponse:
        """The overflow inside a stream: a `response.failed` whose response.error carries the code, or an
        `error` event (https://platform.openai.com/docs/api-reference/responses-streaming)."""
        pending = _response_payload(rec, _new_id("resp_"), int(time.time()), [], None)
        resp, send = await _open_stream(request, pending)
        error = err.body["error"]
        if self.overflow_style == "response.failed":
            failed = {**pending, "status": "failed", "error": {"code": error["code"], "message": error["message"]}}
            await send("response.failed", response=failed)
        else:
            await send("error", code=error["code"], message=error["message"], param=error["param"])
        await resp.write_eof()
        return resp

    async def _stream(
        self, request: web.Request, rec: RecordedRequest, items: list[JSON], compaction: JSON | None, cached: int
    ) -> web.StreamResponse:
        text = rec.reply_text or ""
        *before, message = self._output(rec, text, compaction)
        resp_id, msg_id, created = _new_id("resp_"), message["id"], int(time.time())
        at = len(before)  # the message's output_index
        brk = self._stream_breaks.popleft() if self._stream_breaks else None
        resp, send = await _open_stream(request, _response_payload(rec, resp_id, created, [], None))
        rec.status = 200
        for index, item in enumerate(before):
            opening = {**item, "status": "in_progress"} if item["type"] == "reasoning" else item
            await send("response.output_item.added", output_index=index, item=opening)
            await send("response.output_item.done", output_index=index, item=item)
        await send("response.output_item.added", output_index=at, item=_message_item(msg_id, None))
        where = {"item_id": msg_id, "output_index": at, "content_index": 0}
        await send("response.content_part.added", **where, part=_output_text(""))
        for i, delta in enumerate(split_text(text, self.stream_chunks)):
            if brk is not None and i == brk.after_deltas:
                return await self._break_stream(request, resp, rec, brk, send)
            if i and self.stream_chunk_delay:
                await asyncio.sleep(self.stream_chunk_delay)
            await send("response.output_text.delta", **where, delta=delta, logprobs=[])
        if brk is not None:
            return await self._break_stream(request, resp, rec, brk, send)
        await send("response.output_text.done", **where, text=text, logprobs=[])
        await send("response.content_part.done", **where, part=_output_text(text))
        item = _message_item(msg_id, text)
        await send("response.output_item.done", output_index=at, item=item)
        rec.usage = _usage(_rendered(rec.instructions, rec.context), text, cached)
        final = _response_payload(rec, resp_id, created, [*before, item], rec.usage)
        self._store(rec, items, final)
        await send("response.completed", response=final)
        await resp.write_eof()
        return resp

    async def _tool_reply(
        self,
        request: web.Request,
        rec: RecordedRequest,
        items: list[JSON],
        reply: ToolReply,
        compaction: JSON | None,
    ) -> web.StreamResponse:
        rec.reply_text = reply.text
        output = [*([compaction] if compaction else []), *reply.output_items()]
        resp_id, created = _new_id("resp_"), int(time.time())
        rec.usage = _usage(_rendered(rec.instructions, rec.context), reply.text, self._cached_tokens(rec))
        final = _response_payload(rec, resp_id, created, output, rec.usage)
        if not rec.stream:
            self._store(rec, items, final)
            rec.status = 200
            return web.json_response(final)
        resp, send = await _open_stream(request, _response_payload(rec, resp_id, created, [], None))
        rec.status = 200
        await reply.stream(send, output)
        self._store(rec, items, final)
        await send("response.completed", response=final)
        await resp.write_eof()
        return resp

    @staticmethod
    async def _break_stream(
        request: web.Request,
        resp: web.StreamResponse,
        rec: RecordedRequest,
        brk: _StreamBreak,
        send: Callable[..., Any],
    ) -> web.StreamResponse:
        rec.stream_broken = True
        message = "The server had an error while processing your request. Sorry about that!"
        if brk.mode == "disconnect":
            if request.transport is not None:
                request.transport.abort()
            return resp
        if brk.mode == "error_event":  # what production sends: fields nested under "error"
            error = {"type": "server_error", "code": "server_error", "message": message, "param": None}
            await send("error", error=error)
        else:  # the documented ResponseErrorEvent shape: fields at top level
            await send("error", code="server_error", message=message, param=None)
        await resp.write_eof()
        return resp

    async def _get(self, request: web.Request) -> web.Response:
        try:
            self._check_auth(request)
            stored = self._stored_or_404(request.match_info["id"])
        except _ApiError as err:
            return self._error_response(err)
        return web.json_response(stored.payload)

    async def _delete(self, request: web.Request) -> web.Response:
        try:
            self._check_auth(request)
            stored = self._stored_or_404(request.match_info["id"])
        except _ApiError as err:
            return self._error_response(err)
        self.forget(stored.id)
        return web.json_response({"id": stored.id, "object": "response", "deleted": True})

    def _stored_or_404(self, response_id: str) -> StoredResponse:
        stored = self.responses.get(response_id)
        if stored is None:
            msg = f"Response with id '{response_id}' not found."
            raise _ApiError(404, _error_body(msg, "invalid_request_error", None, None))
        return stored

    async def _traces(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.traces_delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.traces_delay)
        self.trace_batches += 1
        with contextlib.suppress(ValueError):
            self.trace_payloads.append(json.loads(raw or b"{}"))
        return web.Response(status=204)
