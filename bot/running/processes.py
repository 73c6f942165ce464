"""Serving from one process, or from WEB_CONCURRENCY worker processes that a parent starts and stops together.

One Python process uses one core. With several workers each has its own event loop, its own Slack and OpenAI
clients and either its own listening socket on PORT (SO_REUSEPORT: the kernel spreads connections) or its own
Socket Mode connection (Slack spreads events over an app's connections); they share Redis. The parent only
starts them, forwards SIGTERM/SIGINT, and waits: when one worker stops on its own, it stops the others, so a
host's restart policy sees one failed process rather than a half-dead one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import multiprocessing
import os
import signal
import sys
from collections.abc import Coroutine
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any, TypeVar

from bot.running.logs import configure_logging
from bot.running.metrics import forget_earlier_runs, shared_between_workers
from bot.running.settings import Settings
from bot.state.embedded_redis import EmbeddedRedis

logger = logging.getLogger(__name__)

T = TypeVar("T")

EMBEDDED_REDIS_DIR = "data"


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop where it is installed (faster I/O and scheduling), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)


def serve_here(settings: Settings, *, reuse_port: bool = False) -> int:
    """Serve Slack from this process until SIGTERM; the exit code (1 with one line on stderr if it cannot start)."""
    from bot.running.app import StartupError, build_bot
    from bot.running.server import serve

    async def run() -> None:
        bot = await build_bot(settings, embedded_redis_dir=EMBEDDED_REDIS_DIR)
        await serve(bot, reuse_port=reuse_port)

    try:
        run_event_loop(run())
    except StartupError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1
    return 0


def serve_alone(settings: Settings) -> int:
    """`python -m bot` with one process (an operator's `PROMETHEUS_MULTIPROC_DIR` starts empty, as with workers)."""
    forget_earlier_runs()
    return serve_here(settings)


def serve_in_workers(settings: Settings) -> int:
    """Start `settings.web_concurrency` workers and wait for them; the first failing worker's code, else 0."""
    embedded: EmbeddedRedis | None = None
    if not settings.redis_url:
        # One embedded server for all: each worker starting its own would have two servers write one file.
        embedded = EmbeddedRedis.start(EMBEDDED_REDIS_DIR)
        settings = dataclasses.replace(settings, redis_url=embedded.url)
    try:
        with shared_between_workers():  # before the workers start: each reads it when it first records a metric
            return _supervise(settings)
    finally:
        if embedded is not None:
            embedded.stop()


def _supervise(settings: Settings) -> int:
    # Spawned, not forked: a fork of a process with threads (the SDKs start some) can deadlock in the child.
    context = multiprocessing.get_context("spawn")
    workers: list[BaseProcess] = []
    stopping = False

    def stop_all(signum: int = signal.SIGTERM, _frame: FrameType | None = None) -> None:
        nonlocal stopping
        if not stopping:
            logger.info("Stopping %d workers", len(workers))
        stopping = True
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                _kill(worker.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop_all) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for number in range(1, settings.web_concurrency + 1):
            if stopping:
                break
            worker = context.Process(target=_worker, args=(settings, number), name=f"worker {number}")
            worker.start()
            workers.append(worker)
        logger.info("Started %d workers", len(workers))
        code = 0
        running = list(workers)
        while running:
            for sentinel in wait([w.sentinel for w in running]):
                worker = next(w for w in running if w.sentinel == sentinel)
                running.remove(worker)
                worker.join()
                exit_code = worker.exitcode or 0
                if stopping and exit_code in (0, -signal.SIGTERM, -signal.SIGINT):
                    continue
                if not stopping:
                    logger.error("%s exited with code %s: stopping the others", worker.name, exit_code)
                    stop_all()
                code = code or (exit_code if exit_code > 0 else 1)
        return code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _worker(settings: Settings, number: int) -> None:
    # Ctrl-C reaches the whole process group: the parent turns it into one SIGTERM for each worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(
        settings.log_level, secrets=settings.secrets, process_name=f"worker {number}", log_format=settings.log_format
    )
    sys.exit(serve_here(settings, reuse_port=True))


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        os.kill(pid, signum)
