"""Counting Redis round trips without MONITOR: a TCP relay between the apps and Redis.

On one connection a client waits for the server's answer before it speaks again (redis-py sends a
pipeline in one write, a script is one command), so a round trip is each time the client speaks after
the server did. The relay only forwards bytes; it never parses them.
"""

from __future__ import annotations

import asyncio
import contextlib


class RoundTripCounter:
    def __init__(self, redis_host: str, redis_port: int) -> None:
        self._target = (redis_host, redis_port)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.round_trips = 0

    async def start(self) -> str:
        """Start relaying; returns the URL the apps should use instead of Redis's own."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        server_spoke = True  # the client's first words start a round trip
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.close()
            self._connections.discard(task)
            return

        async def client_to_server() -> None:
            nonlocal server_spoke
            while data := await client_reader.read(65536):
                if server_spoke:
                    self.round_trips += 1
                    server_spoke = False
                server_writer.write(data)
            server_writer.close()

        async def server_to_client() -> None:
            nonlocal server_spoke
            while data := await server_reader.read(65536):
                server_spoke = True
                client_writer.write(data)
            client_writer.close()

        try:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await asyncio.gather(client_to_server(), server_to_client())
        finally:
            for writer in (client_writer, server_writer):
                writer.close()
            self._connections.discard(task)
