"""The Conversations API of the fake OpenAI: conversations, their items, and what responses add to them.

Shapes and limits from OpenAI's API reference (https://platform.openai.com/docs/api-reference/conversations,
and openai/openai-openapi's `openapi.yaml`: CreateConversationBody, ConversationResource,
DeletedConversationResource, ConversationItemList):
- `POST /conversations` takes `items` (at most 20) and `metadata`; answers a `conversation` object.
- `POST /conversations/{id}/items` takes `items` (at most 20, "You may add up to 20 items at a time").
- `DELETE /conversations/{id}` answers `{"id", "object": "conversation.deleted", "deleted": true}`.
- `POST /responses` with `conversation` (an id, or `{"id": ...}`) prepends the conversation's items and,
  once the response completes, adds its input and output items to the conversation; `conversation`
  cannot be used with `previous_response_id`.
Not documented, so assumed here: the wording of the 404 for an unknown conversation (modelled on the
documented "Response with id '…' not found.") and of the errors for too many items (OpenAI's usual
`array_above_max_length` validation error).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
MAX_ITEMS_PER_CALL = 20


class ConversationError(Exception):
    def __init__(self, status: int, body: JSON, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(message: str, param: str | None, code: str | None = None) -> JSON:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


def not_found(conversation_id: str) -> ConversationError:
    return ConversationError(404, _error(f"Conversation with id '{conversation_id}' not found.", None))


def with_previous_response() -> ConversationError:
    message = (
        "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or 'conversation'."
    )
    return ConversationError(400, _error(message, None, "mutually_exclusive_parameters"))


@dataclass
class StoredConversation:
    id: str
    created_at: int
    metadata: JSON
    items: list[JSON] = field(default_factory=list)

    def resource(self) -> JSON:
        return {"id": self.id, "object": "conversation", "created_at": self.created_at, "metadata": self.metadata}


def conversation_id_of(param: object) -> str | None:
    """The `conversation` parameter of a response: an id, or a `{"id": ...}` object."""
    if isinstance(param, str):
        return param
    if isinstance(param, dict) and isinstance(param.get("id"), str):
        return str(param["id"])
    return None


class FakeConversations:
    """The conversations the fake holds, and the HTTP handlers that serve them."""

    def __init__(self, take_failure: Callable[[str], Any] = lambda _kind: None) -> None:
        self.take_failure = take_failure  # a failure queued by a test (FakeOpenAI.fail_next(endpoint=...)), or None
        self.stored: dict[str, StoredConversation] = {}
        self.calls: list[tuple[str, str, int]] = []  # (method, path, number of items sent), of calls that succeed
        self.attempts: list[str] = []  # "METHOD /path" of every call, refused ones included

    def install(self, app: web.Application) -> None:
        app.router.add_post("/v1/conversations", self._create)
        app.router.add_get("/v1/conversations/{id}", self._retrieve)
        app.router.add_delete("/v1/conversations/{id}", self._delete)
        app.router.add_post("/v1/conversations/{id}/items", self._add_items)
        app.router.add_get("/v1/conversations/{id}/items", self._list_items)

    # -- what the responses endpoint uses

    def items_of(self, conversation_id: str) -> list[JSON]:
        stored = self.stored.get(conversation_id)
        if stored is None:
            raise not_found(conversation_id)
        return stored.items

    def append(self, conversation_id: str, items: list[JSON]) -> None:
        stored = self.stored.get(conversation_id)
        if stored is not None:
            stored.items.extend(_with_ids(items))

    def forget(self, conversation_id: str) -> None:
        self.stored.pop(conversation_id, None)

    # -- handlers

    def _injected_failure(self, request: web.Request) -> None:
        self.attempts.append(f"{request.method} {request.path.removeprefix('/v1')}")
        failure = self.take_failure("conversation_items" if request.path.endswith("/items") else "conversations")
        if failure is not None:
            raise ConversationError(failure.status, failure.body, failure.headers)

    async def _create(self, request: web.Request) -> web.Response:
        try:
            body = await _body(request, "conversations.create")
            self._injected_failure(request)
            items = _items(body.get("items") or [], "items")
        except ConversationError as err:
            return web.json_response(err.body, status=err.status, headers=err.headers)
        self.calls.append(("POST", "/conversations", len(items)))
        metadata = body.get("metadata") or {}
        stored = StoredConversation("conv_" + secrets.token_hex(24), int(time.time()), metadata, _with_ids(items))
        self.stored[stored.id] = stored
        return web.json_response(stored.resource())

    async def _retrieve(self, request: web.Request) -> web.Response:
        stored = self.stored.get(request.match_info["id"])
        if stored is None:
            err = not_found(request.match_info["id"])
            return web.json_response(err.body, status=err.status, headers=err.headers)
        return web.json_response(stored.resource())

    async def _delete(self, request: web.Request) -> web.Response:
        conversation_id = request.match_info["id"]
        self.calls.append(("DELETE", f"/conversations/{conversation_id}", 0))
        try:
            self._injected_failure(request)
        except ConversationError as err:
            return web.json_response(err.body, status=err.status, headers=err.headers)
        if conversation_id not in self.stored:
            err = not_found(conversation_id)
            return web.json_response(err.body, status=err.status, headers=err.headers)
        self.forget(conversation_id)
        return web.json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})

    async def _add_items(self, request: web.Request) -> web.Response:
        conversation_id = request.match_info["id"]
        try:
            body = await _body(request, "conversations.items.create")
            self._injected_failure(request)
            items = _items(body.get("items"), "items")
            stored = self.stored.get(conversation_id)
            if stored is None:
                raise not_found(conversation_id)
        except ConversationError as err:
            return web.json_response(err.body, status=err.status, headers=err.headers)
        self.calls.append(("POST", f"/conversations/{conversation_id}/items", len(items)))
        added = _with_ids(items)
        stored.items.extend(added)
        return web.json_response(_item_list(added, has_more=False))

    async def _list_items(self, request: web.Request) -> web.Response:
        stored = self.stored.get(request.match_info["id"])
        if stored is None:
            err = not_found(request.match_info["id"])
            return web.json_response(err.body, status=err.status, headers=err.headers)
        limit = int(request.query.get("limit", "20"))
        return web.json_response(_item_list(stored.items[:limit], has_more=len(stored.items) > limit))


async def _body(request: web.Request, endpoint: str) -> JSON:
    from .openai.contract import accepted_parameters  # here: the package imports this module

    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ConversationError(400, _error("We could not parse the JSON body of your request.", None))
    for name in sorted(set(body) - accepted_parameters(endpoint)):  # as OpenAI refuses an unknown parameter
        raise ConversationError(400, _error(f"Unknown parameter: '{name}'.", name, "unknown_parameter"))
    return body


def _items(raw: object, param: str) -> list[JSON]:
    if not isinstance(raw, list):
        raise ConversationError(
            400, _error(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
        )
    if len(raw) > MAX_ITEMS_PER_CALL:
        message = (
            f"Invalid '{param}': array too long. Expected an array with maximum length {MAX_ITEMS_PER_CALL}, "
            f"but got an array with length {len(raw)} instead."
        )
        raise ConversationError(400, _error(message, param, "array_above_max_length"))
    return [item for item in raw if isinstance(item, dict)]


def _with_ids(items: list[JSON]) -> list[JSON]:
    """Items as a conversation keeps them: each with an id and a type."""
    kept = []
    for item in items:
        kind = item.get("type", "message")
        prefix = {"message": "msg_", "reasoning": "rs_", "function_call": "fc_"}.get(str(kind), "item_")
        kept.append({"id": item.get("id") or prefix + secrets.token_hex(24), "type": kind, **item})
    return kept


def _item_list(items: list[JSON], *, has_more: bool) -> JSON:
    return {
        "object": "list",
        "data": items,
        "has_more": has_more,
        "first_id": items[0]["id"] if items else "",
        "last_id": items[-1]["id"] if items else "",
    }
