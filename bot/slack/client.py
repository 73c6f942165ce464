"""The Slack Web API client: one per process, with slack_sdk's retry handlers."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.shared.metrics import SLACK_RATE_LIMITED, SLACK_REFUSED

logger = logging.getLogger(__name__)

SLACK_TIMEOUT_SECONDS = 30.0  # one Web API call, as slack_sdk's default
RATE_LIMIT_RETRIES = 6  # history pages may be limited to one call a minute: wait rather than give up


class RateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, waiting the whole `Retry-After` and saying so in the log.

    The built-in one reads only the header's first character with the async client (whose headers
    are plain strings), so `Retry-After: 30` waited 3 seconds and the retry was refused again.
    """

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("rate limited without a response")
        state.next_attempt_requested = True
        wait = retry_after_seconds(response.headers) + random.random() * 0.5
        method = request.url.rstrip("/").rsplit("/", 1)[-1]
        SLACK_RATE_LIMITED.labels(method=method).inc()
        logger.warning("Slack rate-limited %s: retrying in %.1fs", method, wait)
        await asyncio.sleep(wait)
        state.increment_current_attempt()


def retry_after_seconds(headers: Mapping[str, Any]) -> float:
    """The seconds a `Retry-After` header asks to wait (Slack sends whole seconds); 1 when absent or unreadable."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def retry_handlers() -> list[AsyncRetryHandler]:
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


class CountedWebClient(AsyncWebClient):
    """slack_sdk's client, counting the calls Slack refuses (by method and error) and those it rate-limits that
    are not retried (the retry handler counts the others) into the metrics."""

    async def api_call(self, api_method: str, *args: Any, **kwargs: Any) -> AsyncSlackResponse:
        try:
            return await super().api_call(api_method, *args, **kwargs)
        except SlackApiError as error:
            if error.response.status_code == 429:
                SLACK_RATE_LIMITED.labels(method=api_method).inc()
            else:
                SLACK_REFUSED.labels(method=api_method, error=str(error.response.get("error") or "unknown")).inc()
            raise


def build_client(token: str, base_url: str) -> AsyncWebClient:
    """Call from a running event loop; close the client's `session` when done.

    One HTTP session for the process: without it slack_sdk opens a new session, and a new connection
    (TLS handshake included), for every call.
    """
    # slack_sdk applies its own 30 s timeout only to sessions it makes itself.
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SLACK_TIMEOUT_SECONDS))
    return CountedWebClient(token=token, base_url=base_url, retry_handlers=retry_handlers(), session=session)


def without_rate_limit_retries(client: AsyncWebClient) -> AsyncWebClient:
    """The same client (token, session) whose calls give up at a 429 instead of sleeping out `Retry-After`.

    For writes that may simply come later (a stream's next piece, an edit): the caller postpones its own next
    write, and nothing waits inside a call.
    """
    handlers = [h for h in client.retry_handlers if not isinstance(h, AsyncRateLimitErrorRetryHandler)]
    return CountedWebClient(
        token=client.token, base_url=client.base_url, session=client.session, retry_handlers=handlers
    )
