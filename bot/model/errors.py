"""What OpenAI's refusals mean for a turn: which error is which, whatever class it arrives as, and what people
are told. The documented errors, their sources and what the bot does for each: tests/contract/OPENAI.md.

OpenAI reports an error as an HTTP status with an error object (`code`, `type`, `message`, `param`), or inside a
stream: an `error` event (which the openai SDK raises as a plain `openai.APIError` when its fields are nested
under `error`), or a `response.failed` event whose `response.error` carries the code. So errors are told apart
by their code and message, never by their Python class alone.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import openai
from agents import MaxTurnsExceeded

from bot.shared import phrases

# https://platform.openai.com/docs/guides/error-codes; the "Request too large" wording is quoted in
# Aider-AI/aider#1880 and continuedev/continue#11717 (429, type tokens, code rate_limit_exceeded).
_REQUEST_TOO_LARGE = re.compile(r"\brequest too large\b.*\bper min", re.IGNORECASE | re.DOTALL)
_CONTEXT_OVERFLOW_CODES = frozenset({"context_length_exceeded"})
_SETUP_STATUSES = frozenset({401, 403})


class ContextOverflow(Exception):
    """The request does not fit: longer than the model's context window (`context_length_exceeded`), or larger
    than the organisation's tokens-per-minute limit ("Request too large ... (TPM)"). Rebuild it smaller."""


class StreamFailed(Exception):
    """A stream ended in `response.failed`, `response.incomplete` or an `error` event: the code OpenAI gave."""

    def __init__(self, event_type: str, code: str | None, message: str) -> None:
        super().__init__(f"{event_type}: {code}")
        self.event_type = event_type
        self.code = code
        self.message = message


def error_code(error: BaseException) -> str | None:
    """The error object's `code`, from the exception or its body, whatever its class."""
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        return code
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        code = inner.get("code")
        return code if isinstance(code, str) and code else None
    return None


def error_message(error: BaseException) -> str:
    message = getattr(error, "message", None)
    return message if isinstance(message, str) else str(error)


def is_context_overflow(error: BaseException) -> bool:
    """A request that will not fit however long one waits: by its code (HTTP, stream event, or an SDK error's
    text for the streamed form) or OpenAI's "Request too large ... tokens per min" rate-limit message."""
    if error_code(error) in _CONTEXT_OVERFLOW_CODES:
        return True
    if is_request_too_large(error):
        return True
    return "context_length_exceeded" in str(error)  # the Agents SDK's ModelBehaviorError names the code in its text


def is_request_too_large(error: BaseException) -> bool:
    """OpenAI's 429 for one request larger than the tokens-per-minute limit: rate_limit_exceeded by code, but
    no wait lets it through (its message says the input or output tokens must be reduced)."""
    return error_code(error) == "rate_limit_exceeded" and bool(_REQUEST_TOO_LARGE.search(error_message(error)))


def stream_failure(event: Any) -> StreamFailed | None:
    """The terminal failure a raw stream event reports, or None for any other event."""
    kind = getattr(event, "type", "")
    if kind in ("response.failed", "response.incomplete"):
        response = getattr(event, "response", None)
        error = getattr(response, "error", None)
        if error is not None:
            return StreamFailed(kind, getattr(error, "code", None), str(getattr(error, "message", "") or ""))
        details = getattr(response, "incomplete_details", None)
        return StreamFailed(kind, getattr(details, "reason", None), "")
    if kind in ("error", "response.error"):
        return StreamFailed(kind, getattr(event, "code", None), str(getattr(event, "message", "") or ""))
    return None


def failure_phrase(error: BaseException) -> str:
    """What to tell the people in the thread when the model could not answer."""
    if isinstance(error, MaxTurnsExceeded):
        return phrases.TOO_MANY_STEPS
    if isinstance(error, ContextOverflow):
        return phrases.TOO_LARGE_EVEN_ALONE  # raised only once the message was sent on its own
    if isinstance(error, openai.APITimeoutError | asyncio.TimeoutError | TimeoutError):
        return phrases.TOO_SLOW
    if isinstance(error, openai.APIConnectionError):
        return phrases.UNAVAILABLE
    code = error_code(error)
    status = getattr(error, "status_code", None)
    if code == "insufficient_quota":
        return phrases.OUT_OF_QUOTA
    if is_request_too_large(error) or status == 413 or code in ("context_length_exceeded", "string_above_max_length"):
        return phrases.TOO_LARGE
    if status == 429 or code == "rate_limit_exceeded":
        return phrases.BUSY
    if status in _SETUP_STATUSES or code in ("invalid_api_key", "model_not_found"):
        return phrases.SETUP_PROBLEM
    if (isinstance(status, int) and status >= 500) or code in ("server_error", "server_is_overloaded"):
        return phrases.UNAVAILABLE
    if isinstance(error, openai.APIError) and status is None:  # an error inside the stream, with no code we know
        return phrases.UNAVAILABLE
    return phrases.FAILED
