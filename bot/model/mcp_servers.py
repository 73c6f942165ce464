"""Connections to the configured MCP servers (streamable HTTP), kept usable while some of them are down.

A server that does not answer at start-up is logged once and left out; each later turn tries it again in the
background (one attempt at a time) and it is back as soon as it answers. The Agents SDK's MCPServerManager is
not used because it logs every failed attempt at ERROR, where one line per outage is wanted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agents import RunContextWrapper
from agents.mcp import MCPServer, MCPServerStreamableHttp, create_static_tool_filter
from agents.mcp.util import MCPToolCustomDataContext
from agents.tool_context import ToolContext

from bot.model.agent import FAILED_RESULT
from bot.model.config import McpServerConfig

logger = logging.getLogger(__name__)

RETRY_GRACE_SECONDS = 3.0  # how long a turn waits for a retried server before going on without it
CONNECT_SECONDS = 10.0  # the least time a connection (with its tool list) gets, however short the call timeout
# A dropped client is closed this much later: runs under way still read its tool list (longer than any turn).
DROPPED_CLIENT_SECONDS = 600.0


def mcp_server(config: McpServerConfig, on_failure: Callable[[Exception], None]) -> MCPServerStreamableHttp:
    """The Agents SDK's client for one configured server; `on_failure` hears of every failed tool call."""

    def failure_text(context: RunContextWrapper[Any], error: Exception) -> str:
        on_failure(error)
        return tool_failure_text(context, error)

    return MCPServerStreamableHttp(
        params={"url": config.url, "headers": dict(config.headers), "timeout": config.timeout_seconds},
        name=config.name,
        cache_tools_list=True,  # read at connect time, so a run never waits on (or fails at) listing tools
        client_session_timeout_seconds=config.timeout_seconds,
        tool_filter=create_static_tool_filter(allowed_tool_names=list(config.allowed_tools))
        if config.allowed_tools is not None
        else None,
        failure_error_function=failure_text,
        custom_data_extractor=mark_error_result,
    )


def tool_failure_text(context: RunContextWrapper[Any], error: Exception) -> str:
    """What the model is told when a tool call fails or times out; the call is noted as failed for the log."""
    failed = getattr(context.context, "failed_tool_calls", None)
    if isinstance(context, ToolContext) and isinstance(failed, set):
        failed.add(context.tool_call_id)
    return f"The tool failed: {describe_tool_error(error)}. Tell the user if it matters for the answer."


def mark_error_result(context: MCPToolCustomDataContext) -> dict[str, Any] | None:
    return {FAILED_RESULT: True} if context.is_error else None


def describe_tool_error(error: BaseException) -> str:
    if is_timeout(error):
        return "it took too long and was stopped"
    return str(error).strip()[:300] or type(error).__name__


def is_timeout(error: BaseException) -> bool:
    return isinstance(error, TimeoutError | asyncio.TimeoutError) or "timed out" in str(error).lower()


def safe_url(url: str) -> str:
    """Scheme, host and path only: no credentials or query string in a log line."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


@dataclass
class _Connection:
    config: McpServerConfig
    server: MCPServerStreamableHttp | None = None  # the connected client; None while the server is down
    outage_logged: bool = False
    attempt: asyncio.Task[None] | None = None
    tool_names: frozenset[str] = frozenset()  # what it offered when it last connected

    @property
    def up(self) -> bool:
        return self.server is not None


class McpServers:
    """The configured servers by name; `usable(names)` gives those connected now and retries the others."""

    def __init__(self, configs: tuple[McpServerConfig, ...]) -> None:
        self._connections = {c.name: _Connection(c) for c in configs}
        self._dropped: dict[MCPServerStreamableHttp, asyncio.Task[None]] = {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._connections)

    def health(self) -> dict[str, bool]:
        """Each server by name: connected (True) or down (False), for the admins' usage view."""
        return {name: connection.up for name, connection in self._connections.items()}

    def server_of(self, tool: str) -> str:
        """The server that offers `tool` (the metrics label tool calls with it); "other" when none does."""
        return next((n for n, c in self._connections.items() if tool in c.tool_names), "other")

    async def start(self) -> None:
        """Connect every server at once; those that do not answer are left out for now (logged once each)."""
        await asyncio.gather(*(self._connect(c) for c in self._connections.values()))

    async def usable(self, names: tuple[str, ...]) -> list[MCPServer]:
        """The servers among `names` that answer; a server that was down gets one more try, briefly awaited."""
        wanted = [self._connections[n] for n in names if n in self._connections]
        # Only attempts started now are waited for: a server that hangs costs a turn at most the grace, once.
        retries = [task for c in wanted if not c.up and (task := self._retry(c)) is not None]
        if retries:
            await asyncio.wait(retries, timeout=RETRY_GRACE_SECONDS)
        return [c.server for c in wanted if c.server is not None]

    async def close(self) -> None:
        for connection in self._connections.values():
            if connection.attempt is not None:
                connection.attempt.cancel()
            if connection.server is not None:
                await _clean_up(connection.server)
            connection.server = None
        for server, task in list(self._dropped.items()):
            task.cancel()
            await _clean_up(server)

    def _retry(self, connection: _Connection) -> asyncio.Task[None] | None:
        if connection.attempt is not None and not connection.attempt.done():
            return None
        connection.attempt = asyncio.create_task(self._connect(connection))
        return connection.attempt

    def _tool_failed(self, connection: _Connection, server: MCPServerStreamableHttp, error: Exception) -> None:
        """A call failed for another reason than its time limit: the server may be gone, so the next turn
        connects afresh (runs under way keep the old client, closed later)."""
        if is_timeout(error) or connection.server is not server:
            return
        connection.server = None
        if not connection.outage_logged:
            connection.outage_logged = True
            logger.warning(
                "MCP server %r at %s failed a call (%s): connecting again on the next turn",
                connection.config.name,
                safe_url(connection.config.url),
                describe_tool_error(error),
            )
        self._dropped[server] = asyncio.create_task(self._close_later(server))

    async def _close_later(self, server: MCPServerStreamableHttp) -> None:
        await asyncio.sleep(DROPPED_CLIENT_SECONDS)
        self._dropped.pop(server, None)
        await _clean_up(server)

    async def _connect(self, connection: _Connection) -> None:
        config = connection.config
        server: MCPServerStreamableHttp | None = None

        def failed(error: Exception) -> None:
            if server is not None:
                self._tool_failed(connection, server, error)

        server = mcp_server(config, failed)
        try:
            async with asyncio.timeout(max(config.timeout_seconds, CONNECT_SECONDS)):
                await server.connect()
                tools = await server.list_tools()  # fills the cache the runs read
        except Exception as error:
            await _clean_up(server)
            if not connection.outage_logged:
                connection.outage_logged = True
                logger.warning(
                    "MCP server %r at %s does not answer (%s): its tools are left out until it does",
                    config.name,
                    safe_url(config.url),
                    describe_tool_error(error),
                )
            return
        connection.server = server
        connection.tool_names = frozenset(tool.name for tool in tools)
        was_down = connection.outage_logged
        connection.outage_logged = False
        logger.info(
            "MCP server %r %s: %d tool(s)",
            config.name,
            "answers again" if was_down else "connected",
            len(tools),
        )


async def _clean_up(server: MCPServer) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.cleanup(), 5)


@dataclass(frozen=True)
class McpProbe:
    name: str
    ok: bool
    detail: str  # the tools offered, or why the server could not be used


async def probe(config: McpServerConfig) -> McpProbe:
    """Connect once and list the tools (for `python -m bot doctor`); never raises."""
    server = mcp_server(config, lambda _error: None)
    try:
        async with asyncio.timeout(max(config.timeout_seconds, CONNECT_SECONDS)):
            await server.connect()
            tools = await server.list_tools()
    except Exception as error:
        return McpProbe(config.name, False, f"{safe_url(config.url)} does not answer: {describe_tool_error(error)}")
    finally:
        await _clean_up(server)
    names = ", ".join(tool.name for tool in tools) or "no tools (check the allow-list)"
    return McpProbe(config.name, bool(tools), names)
