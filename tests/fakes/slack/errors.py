"""How the fake Slack says no: a documented error code, or an injected fault (error, 429, 5xx)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web


class SlackError(Exception):
    """Answered as `{"ok": false, "error": code}` with HTTP 200, as Slack answers a refused call."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Fault:
    """An answer a test asked for, instead of the method's own."""

    error: str
    status: int = 200
    retry_after: int | None = None
    channel: str | None = None  # only calls about this channel get the fault
    where: tuple[tuple[str, str], ...] = ()  # only calls with these arguments (e.g. one user, one file)

    def applies_to(self, args: dict[str, Any]) -> bool:
        if any(str(args.get(name)) != value for name, value in self.where):
            return False
        return self.channel is None or self.channel in (args.get("channel"), args.get("channel_id"))

    def response(self) -> web.Response:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return web.json_response({"ok": False, "error": self.error}, status=self.status, headers=headers)
