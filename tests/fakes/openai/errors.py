"""The errors the fake OpenAI can answer with, each as OpenAI sends it, and the faults tests queue.

Bodies are OpenAI's error object (`{"error": {"message", "type", "param", "code"}}`, openapi.json `ErrorResponse`).
Which errors exist, and their status, type and code: https://platform.openai.com/docs/guides/error-codes (API
errors; the Python library's classes for 400, 404, 409, 422), and tests/contract/openai_endpoints.json. Messages
are OpenAI's where issue threads quote them (cited per entry), otherwise close.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .wire import JSON, error_body

# How a stream is broken on purpose: the socket cut, an `error` event as production nests it, as the spec
# documents it (fields at the top level), or a `response.failed` event.
StreamFailMode = Literal["disconnect", "error_event", "error_event_flat", "response.failed"]

# OpenAI's wording for a request longer than the model's context window, as seen in API errors
# (e.g. https://github.com/the-open-agent/openagent/issues/2344): code context_length_exceeded, param input.
CONTEXT_OVERFLOW_MESSAGE = (
    "Your input exceeds the context window of this model. Please adjust your input and try again."
)
SERVER_ERROR_MESSAGE = "The server had an error while processing your request. Sorry about that!"

# case -> (status, message, type, param, code)
DOCUMENTED: dict[str, tuple[int, str, str | None, str | None, str | None]] = {
    "bad_request": (400, "Invalid value for 'input'.", "invalid_request_error", "input", None),
    # Quoted in pydantic/pydantic-ai#3653 and 1jehuang/jcode#1028.
    "unknown_parameter": (
        400,
        "Unknown parameter: 'input[0].status'.",
        "invalid_request_error",
        "input[0].status",
        "unknown_parameter",
    ),
    "context_length_exceeded": (
        400,
        CONTEXT_OVERFLOW_MESSAGE,
        "invalid_request_error",
        "input",
        "context_length_exceeded",
    ),
    "previous_response_not_found": (
        400,
        "Previous response with id 'resp_gone' not found.",
        "invalid_request_error",
        "previous_response_id",
        "previous_response_not_found",
    ),
    "invalid_api_key": (
        401,
        "Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        None,
        "invalid_api_key",
    ),
    "unsupported_country": (
        403,
        "Country, region, or territory not supported",
        "request_forbidden",
        None,
        "unsupported_country_region_territory",
    ),
    "not_found": (
        404,
        "The model 'gpt-test' does not exist or you do not have access to it.",
        "invalid_request_error",
        None,
        "model_not_found",
    ),
    "conflict": (
        409,
        "Another request is already in progress for this conversation.",
        "invalid_request_error",
        None,
        None,
    ),
    "unprocessable": (422, "The request could not be processed.", "invalid_request_error", None, None),
    "rate_limit_exceeded": (
        429,
        "Rate limit reached for gpt-test in organization org-test on tokens per min (TPM): Limit 30000, Used 29000, "
        "Requested 2000. Please try again in 2s.",
        "tokens",
        None,
        "rate_limit_exceeded",
    ),
    # Quoted in Aider-AI/aider#1880, TheR1D/shell_gpt#653, continuedev/continue#11717: a request larger than the
    # organisation's tokens-per-minute limit, which no wait will let through.
    "tokens_per_min_request_too_large": (
        429,
        "Request too large for gpt-test in organization org-test on tokens per min (TPM): Limit 30000, Requested "
        "36278. The input or output tokens must be reduced in order to run successfully. Visit "
        "https://platform.openai.com/account/rate-limits to learn more.",
        "tokens",
        None,
        "rate_limit_exceeded",
    ),
    "insufficient_quota": (
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        "insufficient_quota",
        None,
        "insufficient_quota",
    ),
    "server_error": (500, SERVER_ERROR_MESSAGE, "server_error", None, None),
    "overloaded": (503, "The engine is currently overloaded, please try again later.", "server_error", None, None),
}


@dataclass
class Failure:
    status: int
    body: JSON
    headers: dict[str, str]
    only_unchained: bool = False  # meets only a model request that continues no chain (a rebuilt or new one)


@dataclass
class StreamBreak:
    after_deltas: int
    mode: StreamFailMode
    code: str = "server_error"
    message: str = SERVER_ERROR_MESSAGE


def documented_error(case: str) -> tuple[int, JSON]:
    status, message, type_, param, code = DOCUMENTED[case]
    return status, {"error": {"message": message, "type": type_, "param": param, "code": code}}


def default_error(status: int, code: str | None, message: str | None) -> JSON:
    if status == 429:
        return error_body(
            message or "Rate limit reached for requests.", "requests", None, code or "rate_limit_exceeded"
        )
    if status >= 500:
        return error_body(message or SERVER_ERROR_MESSAGE, "server_error", None, code)
    return error_body(message or f"Fake error {status}.", "invalid_request_error", None, code)
