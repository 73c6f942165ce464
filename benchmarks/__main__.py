"""`python -m benchmarks [--smoke] [--model-latency S] ...`: run every figure against the bot, the baseline, the
bare Agents SDK handler and the floor in one run, and print the table."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .apps import AppProcess, errors_in_log
from .modes import memory_modes
from .notes import long_term_memory
from .report import Results, render
from .scenarios import (
    accounting_round_trips,
    concurrency,
    footprint,
    overhead,
    page_reads_alone,
    payload_per_turn,
    rebuild,
    tokens_per_turn,
)
from .stack import Stack

APPS = ("bot", "baseline", "sdk", "floor")
FIGURES = ("payload", "overhead", "concurrency", "rebuild", "footprint", "tokens", "modes", "notes")


@dataclass(frozen=True)
class Options:
    smoke: bool = False
    model_latency: float = 0.0
    concurrent_model_latency: float = 2.0
    payload_turns: int = 50
    token_turns: int = 200
    overhead_turns: int = 200
    overhead_threads: int = 10
    concurrent: int = 200
    rebuild_messages: int = 1000
    rebuild_runs: int = 3
    page_delay: float = 0.02
    conversations: int = 10_000
    apps: tuple[str, ...] = APPS
    workers: tuple[int, ...] = (1, 2)  # figure 3 again against `python -m bot` with this many worker processes
    figures: tuple[str, ...] = FIGURES
    profile: Path | None = None
    log_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few turns of everything, for CI: figures mean nothing")
    parser.add_argument("--model-latency", type=float, default=0.0, help="seconds the fake model takes (default 0)")
    parser.add_argument("--concurrent-model-latency", type=float, help="model seconds in figure 3 (default 2)")
    parser.add_argument("--turns", type=int, help="turns timed in figure 2 (default 200)")
    parser.add_argument("--concurrent", type=int, help="conversations at once in figure 3 (default 200)")
    parser.add_argument("--conversations", type=int, help="conversations in figure 5 (default 10000)")
    parser.add_argument("--apps", default=",".join(APPS), help="which of " + ",".join(APPS) + " to run")
    parser.add_argument("--only", default=",".join(FIGURES), help="which of " + ",".join(FIGURES) + " to run")
    parser.add_argument("--workers", default="1,2", help="WEB_CONCURRENCY values for figure 3 ('' for none)")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of the bot process to this file")
    args = parser.parse_args(argv)
    apps = tuple(a for a in APPS if a in args.apps.split(","))
    figures = tuple(f for f in FIGURES if f in args.only.split(","))
    if not apps or not figures:
        parser.error(f"--apps takes some of {','.join(APPS)}; --only some of {','.join(FIGURES)}")
    smoke = {}
    if args.smoke:
        smoke = dict(
            payload_turns=3,
            token_turns=3,
            overhead_turns=4,
            overhead_threads=2,
            concurrent=5,
            concurrent_model_latency=0.2,
            rebuild_messages=250,  # two pages
            rebuild_runs=1,
            conversations=8,
            workers=(1,),  # the 2-worker path has its own tests; spawning two more processes here is slow
        )
    chosen = {
        "turns": ("overhead_turns", args.turns),
        "concurrent": ("concurrent", args.concurrent),
        "conversations": ("conversations", args.conversations),
        "concurrent_model_latency": ("concurrent_model_latency", args.concurrent_model_latency),
    }
    overrides = {name: value for name, value in chosen.values() if value is not None}
    if not args.smoke or args.workers != "1,2":
        overrides["workers"] = tuple(int(n) for n in args.workers.split(",") if n.strip())
    return Options(
        smoke=args.smoke,
        model_latency=args.model_latency,
        apps=apps,
        figures=figures,
        profile=args.profile,
        **{**smoke, **overrides},
    )


async def run(options: Options) -> Results:
    results = Results(options=options)
    stack = await Stack.start(options.log_dir)
    stack.model.latency = options.model_latency
    try:
        # Started together (their imports take seconds), measured one at a time: an idle app costs nothing.
        profile = options.profile.resolve() if options.profile else None
        apps = await asyncio.gather(
            *(stack.start_app(name, profile=profile if name == "bot" else None) for name in options.apps),
            return_exceptions=True,
        )
        try:
            for app in apps:
                if isinstance(app, BaseException):
                    raise app
                await run_app(stack, app, options, results)
                await app.stop()
                results.errors[app.name] = errors_in_log(app.log_path)
        finally:
            for app in apps:
                if isinstance(app, AppProcess):
                    await app.stop()
        if "tokens" in options.figures:
            results.accounting = await accounting_round_trips(stack)
        if "concurrency" in options.figures:
            for workers in options.workers:
                await run_workers(stack, workers, options, results)
        if "rebuild" in options.figures and "floor" in options.apps:
            results.rebuild_floor = await page_reads_alone(
                stack, options.rebuild_messages, page_delay=options.page_delay
            )
        if "modes" in options.figures:
            print("  7. memory modes", file=sys.stderr, flush=True)
            timing = {"overhead_turns": options.overhead_turns, "threads": options.overhead_threads}
            results.modes, results.modes_floor = await memory_modes(
                stack, turns=options.payload_turns, plateau=not options.smoke, **timing
            )
        if "notes" in options.figures:
            print("  8. long-term memory", file=sys.stderr, flush=True)
            results.notes = await long_term_memory(stack, turns=options.payload_turns)
    finally:
        await stack.stop()
    return results


async def run_app(stack: Stack, app: AppProcess, options: Options, results: Results) -> None:
    name = app.name
    results.rss_started[name] = app.rss_bytes()
    say = lambda what: print(f"  {name}: {what}", file=sys.stderr, flush=True)  # noqa: E731
    if "payload" in options.figures:
        say("1. payload per turn")
        results.payload[name] = await payload_per_turn(stack, app, options.payload_turns)
    if "overhead" in options.figures:
        say("2. overhead per turn")
        results.overhead[name] = await overhead(stack, app, options.overhead_turns, threads=options.overhead_threads)
    if "footprint" in options.figures and name == "bot":
        # Before the burst of figure 3, whose peak the process keeps (Python seldom returns memory).
        say("5. footprint")
        results.footprint[name] = await footprint(stack, app, options.conversations)
    if "concurrency" in options.figures:
        say("3. concurrency")
        results.concurrency[name] = await concurrency(
            stack, app, options.concurrent, model_latency=options.concurrent_model_latency
        )
        results.rss_after_burst[name] = app.rss_bytes()
    if "rebuild" in options.figures and name in ("bot", "baseline"):
        say("4. rebuild")
        runs = [
            await rebuild(stack, app, options.rebuild_messages, page_delay=options.page_delay)
            for _ in range(options.rebuild_runs)
        ]
        results.rebuild[name] = sorted(runs, key=lambda r: r.total)[len(runs) // 2]
    if "tokens" in options.figures and name != "floor":  # the floor keeps no conversation
        say("6. tokens per turn")
        results.tokens[name] = await tokens_per_turn(stack, app, options.token_turns)


async def run_workers(stack: Stack, workers: int, options: Options, results: Results) -> None:
    print(f"  python -m bot, WEB_CONCURRENCY={workers}: 3. concurrency", file=sys.stderr, flush=True)
    app = await stack.start_workers(workers)
    try:
        results.concurrency[app.name] = await concurrency(
            stack, app, options.concurrent, model_latency=options.concurrent_model_latency
        )
    finally:
        await app.stop()
    results.errors[app.name] = errors_in_log(app.log_path)


def main() -> None:
    options = parse()
    started = time.monotonic()
    print(f"Benchmark apps={','.join(options.apps)} figures={','.join(options.figures)}", file=sys.stderr)
    results = asyncio.run(run(options))
    results.seconds = time.monotonic() - started
    results.machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    print(render(results))
    if any(results.errors.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
