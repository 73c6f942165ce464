"""7. Memory modes side by side: the same bot with MEMORY_MODE responses, conversations and local.

Per mode: the model request of one thread's turns 2 and 50, what Redis holds for that thread after its
50 turns, Slack calls and time per turn against the floor. `local` re-sends the transcript every turn,
so its requests grow with the thread until HISTORY_BUDGET_CHARS and then stay flat: a fourth column runs
it with a small budget to show the plateau within 50 turns.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .apps import AppProcess
from .scenarios import Overhead, overhead, payload_per_turn
from .stack import Stack

MODES = ("responses", "conversations", "local")
SMALL_BUDGET = 12_000
TURNS_SHOWN = (2, 10, 25, 50)


@dataclass(frozen=True)
class ModeFigures:
    payload: dict[int, int]  # turn -> bytes of that turn's model request
    redis_bytes: int  # MEMORY USAGE of the thread's keys after its turns (state, transcript)
    overhead: Overhead


def variants(*, plateau: bool) -> list[tuple[str, tuple[str, ...]]]:
    """(column name, serve options) for every configuration measured; `plateau` adds local with a small budget."""
    out = [(mode, ("--memory-mode", mode)) for mode in MODES]
    if plateau:
        small = ("--memory-mode", "local", "--history-budget", str(SMALL_BUDGET))
        out.append((f"local, budget {SMALL_BUDGET:,}", small))
    return out


async def memory_modes(
    stack: Stack, *, turns: int, overhead_turns: int, threads: int, plateau: bool = True
) -> tuple[dict[str, ModeFigures], Overhead]:
    """Every configuration and the floor, started together (imports take seconds), measured one at a time."""
    configurations = variants(plateau=plateau)
    started = await asyncio.gather(
        *(
            stack.start_app("bot", variant=f"mode{n}", options=options)
            for n, (_c, options) in enumerate(configurations)
        ),
        stack.start_app("floor", variant="modes"),
        return_exceptions=True,
    )
    try:
        apps = [app for app in started if isinstance(app, AppProcess)]
        if len(apps) < len(started):
            raise next(app for app in started if isinstance(app, BaseException))
        *bots, floor = apps
        results: dict[str, ModeFigures] = {}
        for n, ((column, _options), app) in enumerate(zip(configurations, bots, strict=True)):
            payload = await payload_per_turn(stack, app, turns)
            await asyncio.sleep(0.5)  # the memory is stored just after the answer is posted
            redis_bytes = await _thread_bytes(stack, f"bench-bot-mode{n}")  # its one thread so far
            timing = await overhead(stack, app, overhead_turns, threads=threads)
            await app.stop()
            results[column] = ModeFigures(payload, redis_bytes, timing)
        return results, await overhead(stack, floor, overhead_turns, threads=threads)
    finally:
        for app in started:
            if isinstance(app, AppProcess):
                await app.stop()


async def _thread_bytes(stack: Stack, prefix: str) -> int:
    total = 0
    for family in ("thread", "transcript"):
        async for key in stack.redis.scan_iter(match=f"{prefix}:*:{family}:*", count=1000):
            total += int(await stack.redis.memory_usage(key, samples=0) or 0)
    return total


def render_modes(results: dict[str, ModeFigures], floor: Overhead | None) -> list[str]:
    if not results:
        return []
    columns = list(results)
    lines = [
        "",
        "| 7. memory modes (MEMORY_MODE) | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]

    def row(name: str, cells: list[str]) -> None:
        lines.append(f"| 7. {name} | " + " | ".join(cells) + " |")

    last = max(max(f.payload) for f in results.values())
    for turn in (t for t in TURNS_SHOWN if t <= last):
        row(f"model request at turn {turn} (bytes)", [f"{f.payload.get(turn, 0):,}" for f in results.values()])
    row(
        f"Redis bytes for the thread after {last} turns",
        [f"{f.redis_bytes:,}" for f in results.values()],
    )
    row("Slack API calls per turn", [f"{f.overhead.slack_calls_per_turn:.2f}" for f in results.values()])
    row("Redis commands per turn", [f"{f.overhead.redis_commands_per_turn:.2f}" for f in results.values()])
    row("model requests per turn", [f"{f.overhead.model_requests_per_turn:.2f}" for f in results.values()])
    row("event → answer posted, p50", [f"{f.overhead.p50 * 1000:.1f} ms" for f in results.values()])
    if floor is not None:
        row(
            "p50 ÷ floor's p50",
            [f"{f.overhead.p50 / floor.p50:.2f}×" if floor.p50 else "—" for f in results.values()],
        )
        lines.append(f"\nFloor (bare handler) in the same run: p50 {floor.p50 * 1000:.1f} ms.")
    return lines
