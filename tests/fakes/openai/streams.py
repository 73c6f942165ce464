"""How the fake OpenAI streams a response (https://platform.openai.com/docs/api-reference/responses-streaming):
text deltas, tool calls, an overflow inside the stream, and streams broken on purpose (a mixin of FakeOpenAI)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..openai_tools import ToolReply
from .errors import StreamBreak
from .wire import (
    JSON,
    ApiError,
    RecordedRequest,
    message_item,
    new_id,
    open_stream,
    output_text,
    rendered_prompt,
    response_payload,
    split_text,
    usage_of,
)

if TYPE_CHECKING:
    from .server import FakeOpenAI


class Streaming:
    async def _stream_overflow(
        self: FakeOpenAI, request: web.Request, rec: RecordedRequest, err: ApiError
    ) -> web.StreamResponse:
        """The overflow inside a stream: a `response.failed` whose response.error carries the code, or an
        `error` event (https://platform.openai.com/docs/api-reference/responses-streaming)."""
        pending = response_payload(rec, new_id("resp_"), int(time.time()), [], None)
        resp, send = await open_stream(request, pending)
        error = err.body["error"]
        if self.overflow_style == "response.failed":
            failed = {**pending, "status": "failed", "error": {"code": error["code"], "message": error["message"]}}
            await send("response.failed", response=failed)
        else:
            await send("error", code=error["code"], message=error["message"], param=error["param"])
        await resp.write_eof()
        return resp

    async def _stream(
        self: FakeOpenAI,
        request: web.Request,
        rec: RecordedRequest,
        items: list[JSON],
        compaction: JSON | None,
        cached: int,
    ) -> web.StreamResponse:
        text = rec.reply_text or ""
        *before, message = self._output(rec, text, compaction)
        resp_id, msg_id, created = new_id("resp_"), message["id"], int(time.time())
        at = len(before)  # the message's output_index
        brk = self._stream_breaks.popleft() if self._stream_breaks else None
        pending = response_payload(rec, resp_id, created, [], None)
        resp, send = await open_stream(request, pending)
        rec.status = 200
        for index, item in enumerate(before):
            opening = {**item, "status": "in_progress"} if item["type"] == "reasoning" else item
            await send("response.output_item.added", output_index=index, item=opening)
            await send("response.output_item.done", output_index=index, item=item)
        await send("response.output_item.added", output_index=at, item=message_item(msg_id, None))
        where = {"item_id": msg_id, "output_index": at, "content_index": 0}
        await send("response.content_part.added", **where, part=output_text(""))
        for i, delta in enumerate(split_text(text, self.stream_chunks)):
            if brk is not None and i == brk.after_deltas:
                return await self._break_stream(request, resp, rec, brk, send, pending)
            if i and self.stream_chunk_delay:
                await asyncio.sleep(self.stream_chunk_delay)
            await send("response.output_text.delta", **where, delta=delta, logprobs=[])
        if brk is not None:
            return await self._break_stream(request, resp, rec, brk, send, pending)
        await send("response.output_text.done", **where, text=text, logprobs=[])
        await send("response.content_part.done", **where, part=output_text(text))
        item = message_item(msg_id, text)
        await send("response.output_item.done", output_index=at, item=item)
        rec.usage = usage_of(rendered_prompt(rec.instructions, rec.context), text, cached)
        final = response_payload(rec, resp_id, created, [*before, item], rec.usage)
        self._store(rec, items, final)
        await send("response.completed", response=final)
        await resp.write_eof()
        return resp

    async def _tool_reply(
        self: FakeOpenAI,
        request: web.Request,
        rec: RecordedRequest,
        items: list[JSON],
        reply: ToolReply,
        compaction: JSON | None,
    ) -> web.StreamResponse:
        rec.reply_text = reply.text
        output = [*([compaction] if compaction else []), *reply.output_items()]
        resp_id, created = new_id("resp_"), int(time.time())
        rec.usage = usage_of(rendered_prompt(rec.instructions, rec.context), reply.text, self._cached_tokens(rec))
        final = response_payload(rec, resp_id, created, output, rec.usage)
        if not rec.stream:
            self._store(rec, items, final)
            rec.status = 200
            return web.json_response(final)
        resp, send = await open_stream(request, response_payload(rec, resp_id, created, [], None))
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
        brk: StreamBreak,
        send: Callable[..., Any],
        pending: JSON,
    ) -> web.StreamResponse:
        rec.stream_broken = True
        if brk.mode == "disconnect":
            if request.transport is not None:
                request.transport.abort()
            return resp
        if brk.mode == "error_event":  # what production sends: fields nested under "error"
            error = {"type": "server_error", "code": brk.code, "message": brk.message, "param": None}
            await send("error", error=error)
        elif brk.mode == "response.failed":  # the response's own error (openapi.json ResponseError: code, message)
            failed = {**pending, "status": "failed", "error": {"code": brk.code, "message": brk.message}}
            await send("response.failed", response=failed)
        else:  # the documented ResponseErrorEvent shape: fields at top level
            await send("error", code=brk.code, message=brk.message, param=None)
        await resp.write_eof()
        return resp
