"""The fake OpenAI's model side: the chain a request continues, what fits the context window, the prompt
cache, and what a response stores (a mixin of FakeOpenAI, which holds the state)."""

from __future__ import annotations

import secrets
from collections import deque
from typing import TYPE_CHECKING

from ..openai_conversations import ConversationError, with_previous_response
from ..openai_files import InputFileError
from ..openai_tools import unanswered_calls
from .contract import check_input_limits
from .errors import CONTEXT_OVERFLOW_MESSAGE
from .wire import (
    JSON,
    ApiError,
    MissingResponse,
    RecordedRequest,
    StoredResponse,
    Turn,
    check_unstored_items,
    count_tokens,
    error_body,
    item_turn,
    message_item,
    new_id,
    reasoning_item,
    rendered_prompt,
)

if TYPE_CHECKING:
    from .server import FakeOpenAI


class ModelSide:
    def _chain_items(self: FakeOpenAI, response_id: str | None) -> list[JSON]:
        chain: list[StoredResponse] = []
        while response_id is not None:
            stored = self.responses.get(response_id)
            if stored is None:
                raise MissingResponse(response_id)
            chain.append(stored)
            response_id = stored.previous_response_id
        return [item for s in reversed(chain) for item in (*s.input_items, *s.output_items)]

    def _previous_not_found(self: FakeOpenAI, response_id: str) -> ApiError:
        if self.invalid_id_style == "gateway":
            body = error_body(
                "Invalid `previous_response_id`.",
                "invalid_request_error",
                "previous_response_id",
                "invalid_request_error",
            )
        else:
            body = error_body(
                f"Previous response with id '{response_id}' not found.",
                "invalid_request_error",
                "previous_response_id",
                "previous_response_not_found",
            )
        return ApiError(400, body)

    def _resolve_context(self: FakeOpenAI, rec: RecordedRequest, items: list[JSON]) -> list[Turn]:
        if not rec.store:
            check_unstored_items(items)
        if rec.conversation is not None:
            try:
                if rec.previous_response_id is not None:
                    raise with_previous_response()
                chain = self.conversations.items_of(rec.conversation)
            except ConversationError as err:
                raise ApiError(err.status, err.body) from None
        else:
            try:
                chain = self._chain_items(rec.previous_response_id)
            except MissingResponse as missing:
                raise self._previous_not_found(missing.response_id) from None
        try:
            contents = list(self.files.contents_in(items))
            rec.files_sent = [self.files.hash_of(data) for _kind, _where, data in contents]
            check_input_limits(contents)
            # A file the chain refers to must still exist (an uploaded file expires: expires_after). What OpenAI
            # answers for one that is gone is not documented: a 400 naming the part is assumed.
            earlier = self.files.hashes_in([i for i in chain if i.get("role") == "user"])
        except InputFileError as error:
            raise ApiError(400, error_body(error.message, "invalid_request_error", error.param)) from None
        rec.files_seen = [*earlier, *rec.files_sent]
        previous = self.responses[rec.previous_response_id].output_items if rec.previous_response_id else []
        if rec.conversation is not None:
            # The conversation holds the calls its last response made (its items are prepended to the input):
            # an output in the new input may answer one of those, as the Agents SDK sends it.
            answered = {i.get("call_id") for i in chain if i.get("type") == "function_call_output"}
            previous = [i for i in chain if i.get("type") == "function_call" and i.get("call_id") not in answered]
        problem = unanswered_calls(previous, items)
        if problem is not None:
            raise ApiError(400, error_body(problem, "invalid_request_error", "input", None))
        return self._render([*chain, *items])

    def _render(self: FakeOpenAI, items: list[JSON]) -> list[Turn]:
        """Turns the model reads; a compaction item stands for everything before it
        (https://platform.openai.com/docs/guides/compaction: items before the latest one can be dropped)."""
        turns: list[Turn] = []
        for item in items:
            if item.get("type") == "compaction":
                turns = list(self._compactions.get(str(item.get("id")), []))
            elif (turn := item_turn(item)) is not None:
                turns.append(turn)
        return turns

    def _fit_context(self: FakeOpenAI, rec: RecordedRequest) -> JSON | None:
        """Compact past the request's threshold, then refuse what still exceeds the window; the compaction
        item to put first in the output, if any."""
        compaction: JSON | None = None
        if rec.compact_threshold is not None and self._tokens(rec) > rec.compact_threshold:
            # Server-side compaction: the response carries an opaque compaction item that replaces the context
            # for later turns (https://platform.openai.com/docs/guides/compaction, "Server-side compaction").
            compaction = {"id": new_id("cmp_"), "type": "compaction", "encrypted_content": secrets.token_hex(32)}
            rec.context = rec.context[-self.compaction_keeps_turns :]
            self._compactions[compaction["id"]] = list(rec.context)
            rec.compacted = True
        if self.context_window is not None and self._tokens(rec) > self.context_window:
            # https://platform.openai.com/docs/guides/error-codes: HTTP 400, code context_length_exceeded.
            raise ApiError(
                400, error_body(CONTEXT_OVERFLOW_MESSAGE, "invalid_request_error", "input", "context_length_exceeded")
            )
        return compaction

    @staticmethod
    def _tokens(rec: RecordedRequest) -> int:
        return sum(count_tokens(part) for part in rendered_prompt(rec.instructions, rec.context))

    def _cached_tokens(self: FakeOpenAI, rec: RecordedRequest) -> int:
        """The longest prefix of this prompt an earlier one with the same key started with, in whole steps;
        this prompt is cached in turn (not the output: the next turn's chain adds it after this prefix)."""
        if rec.prompt_cache_key is None:
            return 0
        parts = [(hash(part), count_tokens(part)) for part in rendered_prompt(rec.instructions, rec.context)]
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

    def _output(self: FakeOpenAI, rec: RecordedRequest, text: str | None, compaction: JSON | None) -> list[JSON]:
        """The response's output items: the compaction item if any, a reasoning item when `reasoning` is on,
        then the message."""
        before = [compaction] if compaction is not None else []
        if self.reasoning:
            before.append(reasoning_item(rec))
        return [*before, message_item(new_id("msg_"), text)]

    def _store(self: FakeOpenAI, rec: RecordedRequest, items: list[JSON], payload: JSON) -> None:
        rec.response_id = payload["id"]
        if rec.conversation is not None:  # added to the conversation once the response completes
            self.conversations.append(rec.conversation, [*items, *payload["output"]])
        if rec.store:
            self.responses[payload["id"]] = StoredResponse(
                payload["id"], items, payload["output"], rec.previous_response_id, payload
            )
