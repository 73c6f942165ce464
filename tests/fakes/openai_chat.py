"""Chat Completions on the fake OpenAI, as OpenAI-compatible servers (vLLM, Ollama, LiteLLM) serve it.

Shapes from OpenAI's API reference (https://platform.openai.com/docs/api-reference/chat/create and
.../chat-streaming): `messages` in, a `chat.completion` out; with `stream` true, `chat.completion.chunk`
objects as server-sent `data:` lines, the first delta carrying the role, the last `finish_reason`, a
usage-only chunk (empty `choices`) when `stream_options.include_usage` is set, then `data: [DONE]`.
There is no server-side memory here: every request carries the whole conversation.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .openai.server import FakeOpenAI

JSON = dict[str, Any]


def install_chat_completions(app: web.Application, fake: FakeOpenAI) -> None:
    async def create(request: web.Request) -> web.StreamResponse:
        return await _create(request, fake)

    app.router.add_post("/v1/chat/completions", create)


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


async def _create(request: web.Request, fake: FakeOpenAI) -> web.StreamResponse:
    from .openai.contract import check_parameters
    from .openai.wire import ApiError, RecordedRequest, error_body, rendered_prompt, split_text, usage_of

    raw = await request.read()
    rec = RecordedRequest(
        body={},
        raw_bytes=len(raw),
        headers={k.lower(): v for k, v in request.headers.items()},
        endpoint="chat.completions",
    )
    fake.requests.append(rec)
    try:
        rec.body = body = fake._parse_body(raw)
        fake._check_auth(request)
        check_parameters("chat.completions.create", body)
        messages = body.get("messages")
        if not body.get("model") or not isinstance(messages, list) or not messages:
            missing = "model" if not body.get("model") else "messages"
            raise ApiError(
                400, error_body(f"Missing required parameter: '{missing}'.", "invalid_request_error", missing)
            )
        system = [_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")]
        turns = [
            (str(m.get("role")), _text(m.get("content"))) for m in messages if m.get("role") in ("user", "assistant")
        ]
        rec.instructions = "\n".join(system) or None
        rec.input_texts = rec.context = turns
        rec.input_items = [m for m in messages if isinstance(m, dict)]
        rec.model = str(body["model"])
        rec.stream = body.get("stream") is True
        rec.store = body.get("store") is True  # Chat Completions stores nothing unless asked
        await fake._pause()
        failure = fake.take_failure("model")
        if failure is not None:
            raise ApiError(failure.status, failure.body, failure.headers)
    except ApiError as err:
        rec.status = err.status
        return web.json_response(err.body, status=err.status, headers=err.headers)
    text = rec.reply_text = fake._next_reply(rec)
    completion_id, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())
    usage = usage_of(rendered_prompt(rec.instructions, rec.context), text, 0)
    counts = {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
    }
    rec.status = 200
    if not rec.stream:
        message = {"role": "assistant", "content": text, "refusal": None}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        return web.json_response(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": rec.model,
                "choices": [choice],
                "usage": counts,
            }
        )
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    await resp.prepare(request)

    async def chunk(delta: JSON, finish: str | None = None, usage_only: JSON | None = None) -> None:
        data: JSON = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": rec.model}
        data["choices"] = (
            [] if usage_only else [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        )
        if usage_only:
            data["usage"] = usage_only
        await resp.write(f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode())

    await chunk({"role": "assistant", "content": ""})
    for piece in split_text(text, fake.stream_chunks):
        await chunk({"content": piece})
    await chunk({}, finish="stop")
    if (rec.body.get("stream_options") or {}).get("include_usage"):
        await chunk({}, usage_only=counts)
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp
