"""The fake OpenAI: a Responses API served over real HTTP (aiohttp) for tests, with the Conversations API
(openai_conversations.py), the Files API (openai_files.py) and streaming Chat Completions (openai_chat.py);
every model request, whichever endpoint, is recorded in `requests`.

Point a real `openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test")` at it. It is strict where OpenAI is
(contract.py): unknown parameters and oversized images, files or bodies are refused as the real API refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from aiohttp import web
from openai import AsyncOpenAI

from ..openai_chat import install_chat_completions
from ..openai_conversations import FakeConversations, conversation_id_of
from ..openai_files import OpenAIFiles
from ..openai_tools import CallTool, SearchTheWeb, ToolReply
from .contract import check_parameters, check_request_size
from .errors import Failure, StreamBreak, StreamFailMode, default_error, documented_error
from .model_side import ModelSide
from .streams import Streaming
from .wire import (
    JSON,
    ApiError,
    RecordedRequest,
    StoredResponse,
    Turn,
    compact_threshold,
    error_body,
    new_id,
    normalize_input,
    rendered_prompt,
    response_payload,
    turns_of,
    usage_of,
)

ReplyFn = Callable[[RecordedRequest], "str | ToolReply"]
Reply = str | CallTool | SearchTheWeb | ReplyFn
InvalidIdStyle = Literal["openai", "gateway"]
# How a request too long for the context window is refused: before any stream (HTTP 400), or inside it.
OverflowStyle = Literal["http", "response.failed", "error"]
# Model requests (Responses and Chat Completions) share one queue of failures; conversations and files have theirs.
Endpoint = Literal["model", "conversations", "conversation_items", "files"]


class FakeOpenAI(ModelSide, Streaming):
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
        self.conversations = FakeConversations(take_failure=self.take_failure)
        self.reasoning: bool = False  # answers start with a reasoning item, as reasoning models' do
        self.base_url: str = ""
        self.port: int = 0
        self.files = OpenAIFiles(take_failure=lambda: self.take_failure("files"))
        self._reply_count = 0
        self._replies: deque[Reply] = deque()
        self._failures: dict[str, deque[Failure]] = {}
        # The largest body accepted; OpenAI documents none (tests/contract/OPENAI.md), so a test sets it.
        self.max_request_bytes: int | None = 64 * 1024 * 1024
        self._hangs: deque[float] = deque()
        self._holds: deque[asyncio.Event] = deque()
        self._held: list[asyncio.Event] = []
        self._stream_breaks: deque[StreamBreak] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- lifecycle

    async def start(self, port: int = 0) -> FakeOpenAI:
        """Serve on `port` (any free one by default; pass the old `port` to come back after `stop`)."""
        app = web.Application(client_max_size=256 * 1024 * 1024)  # the fake's own limit is max_request_bytes
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
        *,
        error: str | None = None,
        endpoint: Endpoint = "model",
        only_unchained: bool = False,
    ) -> None:
        """The next `count` requests to `endpoint` fail: with `error`, a case of errors.DOCUMENTED (as OpenAI
        sends it), or with `status` and a default body of that status."""
        if error is not None:
            status, payload = documented_error(error)
        else:
            payload = body if body is not None else default_error(status, code, message)
        headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
        failures = (Failure(status, payload, headers, only_unchained) for _ in range(count))
        self._failures.setdefault(endpoint, deque()).extend(failures)

    def take_failure(self, endpoint: Endpoint, rec: RecordedRequest | None = None) -> Failure | None:
        queued = self._failures.get(endpoint)
        if not queued:
            return None
        chained = rec is not None and (rec.previous_response_id is not None or rec.conversation is not None)
        return None if queued[0].only_unchained and chained else queued.popleft()

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
        self,
        after_deltas: int = 2,
        mode: StreamFailMode = "disconnect",
        count: int = 1,
        *,
        code: str = "server_error",
        message: str | None = None,
    ) -> None:
        """disconnect: abort the socket; error_event: production-shaped `error`; *_flat: documented shape;
        response.failed: the response fails with `code` (a ResponseErrorCode, or context_length_exceeded)."""
        brk = (
            StreamBreak(after_deltas, mode, code) if message is None else StreamBreak(after_deltas, mode, code, message)
        )
        self._stream_breaks.extend(brk for _ in range(count))

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
        response.headers.setdefault("x-request-id", new_id("req_"))

    @staticmethod
    def _check_auth(request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
            msg = (
                "You didn't provide an API key. You need to provide your API key in an Authorization"
                " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            raise ApiError(401, error_body(msg, "invalid_request_error"))

    @staticmethod
    def _parse_body(raw: bytes) -> JSON:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(
                400, error_body("We could not parse the JSON body of your request.", "invalid_request_error")
            )
        return body

    def _fill_request(self, rec: RecordedRequest) -> list[JSON]:
        body = rec.body
        if not body.get("model"):
            raise ApiError(400, error_body("Missing required parameter: 'model'.", "invalid_request_error", "model"))
        items = normalize_input(body.get("input"))
        prev = body.get("previous_response_id")
        rec.previous_response_id = prev if isinstance(prev, str) else None
        instructions = body.get("instructions")
        rec.instructions = instructions if isinstance(instructions, str) else None
        rec.input_texts = turns_of(items)
        rec.stream = body.get("stream") is True
        rec.model = str(body["model"])
        rec.store = body.get("store") is not False and not self.zero_data_retention
        # A parameter OpenAI's reference does not list, or that a test marks unknown (as a gateway that does not
        # forward it answers): HTTP 400 unknown_parameter.
        check_parameters("responses.create", body, refused=self.unknown_parameters)
        key = body.get("prompt_cache_key")
        rec.prompt_cache_key = key if isinstance(key, str) else None
        rec.compact_threshold = compact_threshold(body.get("context_management"))
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

    @staticmethod
    def _error_response(err: ApiError) -> web.Response:
        return web.json_response(err.body, status=err.status, headers=err.headers)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        rec = RecordedRequest(body={}, raw_bytes=len(raw), headers={k.lower(): v for k, v in request.headers.items()})
        self.requests.append(rec)
        try:
            check_request_size(len(raw), self.max_request_bytes)
            rec.body = self._parse_body(raw)
            self._check_auth(request)
            items = self._fill_request(rec)
            await self._pause()
            failure = self.take_failure("model", rec)
            if failure is not None:
                raise ApiError(failure.status, failure.body, failure.headers)
            rec.context = self._resolve_context(rec, items)
            compaction = self._fit_context(rec)
        except ApiError as err:
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
        rec.usage = usage_of(rendered_prompt(rec.instructions, rec.context), rec.reply_text, cached)
        output = self._output(rec, rec.reply_text, compaction)
        payload = response_payload(rec, new_id("resp_"), int(time.time()), output, rec.usage)
        self._store(rec, items, payload)
        rec.status = 200
        return web.json_response(payload)

    async def _get(self, request: web.Request) -> web.Response:
        try:
            self._check_auth(request)
            stored = self._stored_or_404(request.match_info["id"])
        except ApiError as err:
            return self._error_response(err)
        return web.json_response(stored.payload)

    async def _delete(self, request: web.Request) -> web.Response:
        try:
            self._check_auth(request)
            stored = self._stored_or_404(request.match_info["id"])
        except ApiError as err:
            return self._error_response(err)
        self.forget(stored.id)
        return web.json_response({"id": stored.id, "object": "response", "deleted": True})

    def _stored_or_404(self, response_id: str) -> StoredResponse:
        stored = self.responses.get(response_id)
        if stored is None:
            msg = f"Response with id '{response_id}' not found."
            raise ApiError(404, error_body(msg, "invalid_request_error", None, None))
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
