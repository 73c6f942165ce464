"""A real MCP server (the `mcp` package's MCPServer, streamable HTTP under uvicorn) on loopback, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

TICKETS = {"T-42": "Ticket T-42: the office printer is on fire. Status: open, owner: Bob."}


class ToolServer:
    """Serves a few ticket tools at `url`; can be stopped and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.calls: list[str] = []
        self.authorizations: list[str] = []
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def _app(self) -> object:
        mcp = MCPServer("tickets", log_level="WARNING")

        @mcp.tool()
        def lookup_ticket(ticket_id: str) -> str:
            """Look up a support ticket by its id."""
            self.calls.append("lookup_ticket")
            return TICKETS.get(ticket_id, f"No ticket {ticket_id}.")

        @mcp.tool()
        async def slow_lookup(ticket_id: str, seconds: float = 5.0) -> str:
            """A lookup in a slow system."""
            self.calls.append("slow_lookup")
            with contextlib.suppress(asyncio.TimeoutError):  # a stopping server does not wait for it
                await asyncio.wait_for(self._stopping.wait(), seconds)
            return f"Slow answer for {ticket_id}."

        @mcp.tool()
        def flaky_lookup(ticket_id: str) -> str:
            """A lookup in a system that is down."""
            self.calls.append("flaky_lookup")
            raise ToolError("the ticket system is down for maintenance")  # reaches the model, flagged isError

        @mcp.tool()
        def add_note(ticket_id: str, note: str) -> str:
            """Add a note to a ticket (not on the allow-list in the tests)."""
            self.calls.append("add_note")
            return "noted"

        @mcp.tool()
        def create_ticket(title: str, priority: str = "normal") -> str:
            """Create a support ticket (changes things: the tests ask for approval before it runs)."""
            self.calls.append("create_ticket")
            return f"Created ticket T-{100 + self.calls.count('create_ticket')}: {title} ({priority})."

        app = mcp.streamable_http_app(stateless_http=True, json_response=True)

        async def recording(scope: dict, receive: object, send: object) -> None:
            if scope["type"] == "http":
                headers = dict(scope.get("headers") or [])
                self.authorizations.append(headers.get(b"authorization", b"").decode())
            await app(scope, receive, send)  # type: ignore[operator]

        return recording

    async def start(self) -> ToolServer:
        self._stopping = asyncio.Event()
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._stopping.set()
        self._server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, 5)
        self._server = self._task = None


logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
