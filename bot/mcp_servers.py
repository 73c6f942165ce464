"""Connections to the configured MCP servers (streamable HTTP), kept usable while some of them are down.

A server that does not answer at start-up is logged once and left out; each later turn tries it again in the
background (one attempt at a time) and it is back as soon as it answers. The Agents SDK's MCPServerManager is
not used because it logs every failed attempt at ERROR, where one line per outage is wanted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agents import RunContextWrapper
from agents.mcp import MCPServer, MCPServerStreamableHttp, create_static_tool_filter
from agents.mcp.util import MCPToolCustomDataContext
from agents.tool_context import ToolContext

from .agent_config import McpServerConfig

logger = logging.getLogger(__name__)

RETRY_GRACE_SECONDS = 1.0  # how long a turn waits for a retried server before going on without it
FAILED = "failed"  # custom data key marking a tool call whose result the server flagged as an error


def mcp_server(config: McpServerConfig) -> MCPServerStreamableHttp:
    """The Agents SDK's client for one configured server."""
    return MCPServerStreamableHttp(
        params={"url": config.url, "headers": dict(config.headers), "timeout": config.timeout_seconds},
        name=config.name,
        cache_tools_list=True,  # read at connect time, so a run never waits on (or fails at) listing tools
        client_session_timeout_seconds=config.timeout_seconds,
        tool_filter=create_static_tool_filter(allowed_tool_names=list(config.allowed_tools))
        if config.allowed_tools is not None
        else None,
        failure_error_function=tool_failure_text,
        custom_data_extractor=mark_error_result,
    )


def tool_failure_text(context: RunContextWrapper[Any], error: Exception) -> str:
    """What the model is told when a tool call fails or times out; the call is noted as failed for the log."""
    failed = getattr(context.context, "failed_tool_calls", None)
    if isinstance(context, ToolContext) and isinstance(failed, set):
        failed.add(context.tool_call_id)
    return f"The tool failed: {describe_tool_error(error)}. Tell the user if it matters for the answer."


def mark_error_result(context: MCPToolCustomDataContext) -> dict[str, Any] | None:
    return {FAILED: True} if context.is_error else None


def describe_tool_error(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, TimeoutError | asyncio.TimeoutError) or "timed out" in text.lower():
        return "it took too long and was stopped"
    return text[:300] or type(error).__name__


def safe_url(url: str) -> str:
    """Scheme, host and path only: no credentials or query string in a log line."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


@dataclass
class _Connection:
    config: McpServerConfig
    server: MCPServerStreamableHttp
    up: bool = False
    outage_logged: bool = False
    attempt: asyncio.Task[None] | None = None


class McpServers:
    """The configured servers by name; `usable(names)` gives those connected now and retries the others."""

    def __init__(self, configs: tuple[McpServerConfig, ...]) -> None:
        self._connections = {c.name: _Connection(c, mcp_server(c)) for c in configs}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._connections)

    async def start(self) -> None:
        """Connect every server at once; those that do not answer are left out for now (logged once each)."""
        await asyncio.gather(*(self._connect(c) for c in self._connections.values()))

    async def usable(self, names: tuple[str, ...]) -> list[MCPServer]:
        """The servers among `names` that answer; a server that was down gets one more try, briefly awaited."""
        wanted = [self._connections[n] for n in names if n in self._connections]
        retries = [self._retry(c) for c in wanted if not c.up]
        if retries:
            await asyncio.wait(retries, timeout=RETRY_GRACE_SECONDS)
        return [c.server for c in wanted if c.up]

    async def close(self) -> None:
        for connection in self._connections.values():
            if connection.attempt is not None:
                connection.attempt.cancel()
            if connection.up:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.server.cleanup(), 5)
            connection.up = False

    def _retry(self, connection: _Connection) -> asyncio.Task[None]:
        if connection.attempt is None or connection.attempt.done():
            connection.attempt = asyncio.create_task(self._connect(connection))
        return connection.attempt

    async def _connect(self, connection: _Connection) -> None:
        config = connection.config
        try:
            async with asyncio.timeout(config.timeout_seconds):
                await connection.server.connect()
                tools = await connection.server.list_tools()  # fills the cache the runs read
        except Exception as error:
            with contextlib.suppress(Exception):
                await connection.server.cleanup()
            if not connection.outage_logged:
                connection.outage_logged = True
                logger.warning(
                    "MCP server %r at %s does not answer (%s): its tools are left out until it does",
                    config.name,
                    safe_url(config.url),
                    describe_tool_error(error),
                )
            return
        connection.up = True
        level = logging.INFO
        was_down = connection.outage_logged
        connection.outage_logged = False
        logger.log(
            level,
            "MCP server %r %s: %d tool(s)",
            config.name,
            "answers again" if was_down else "connected",
            len(tools),
        )
