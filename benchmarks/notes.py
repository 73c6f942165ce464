"""8. Long-term memory: what notes cost a conversation, with LONG_TERM_MEMORY on and off.

One channel thread of Alice's, who has a personal note (saved in a channel) and whose channel has a note. Halfway
through, a note is added elsewhere (another conversation, the Home tab: a change this thread must hear of once).
Per turn: the model request's bytes, whether the bot added notes to it, and Redis round trips (Redis's own
`total_reads_processed`, as figure 2), against the same bot with LONG_TERM_MEMORY=off.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass

from bot.state.keys import Keys
from bot.state.notes import NotesStore
from bot.state.redis_link import RedisGuard

from .apps import AppProcess
from .stack import ALICE, Stack, follow_up, mention, new_channel, question

NOTES_HEADER = "Long-term notes"
SETTLE_SECONDS = 0.3  # the turn's last Redis writes (state, counters) land just after the answer is posted


@dataclass(frozen=True)
class TurnFigures:
    request_bytes: int
    notes_sent: bool  # the bot added notes (all of them, or a change) to this turn's request
    round_trips: int
    commands: int  # Redis commands, those inside scripts included (INFO commandstats)


@dataclass(frozen=True)
class NotesFigures:
    on: dict[int, TurnFigures]
    off: dict[int, TurnFigures]
    change_before: int  # the turn before which a note was added elsewhere


async def long_term_memory(stack: Stack, *, turns: int) -> NotesFigures:
    started = await asyncio.gather(
        stack.start_app("bot", variant="notes-on"),
        stack.start_app("bot", variant="notes-off", options=("--long-term-memory", "off")),
        return_exceptions=True,
    )
    try:
        apps = [app for app in started if isinstance(app, AppProcess)]
        if len(apps) < len(started):
            raise next(app for app in started if isinstance(app, BaseException))
        on, off = apps
        change_before = max(2, min(26, turns))
        figures = [await _thread(stack, app, turns, change_before) for app in (on, off)]
        return NotesFigures(figures[0], figures[1], change_before)
    finally:
        for app in started:
            if isinstance(app, AppProcess):
                await app.stop()


async def _thread(stack: Stack, app: AppProcess, turns: int, change_before: int) -> dict[int, TurnFigures]:
    # A first answer elsewhere: Redis's script cache (shared by both apps) and the workspace's first-time keys
    # are then warm for either app, so the first turn below counts what notes cost, not who ran first.
    warm_up = new_channel()
    await mention(stack, app, warm_up, question(0))
    await asyncio.sleep(SETTLE_SECONDS)
    channel = new_channel()
    store = NotesStore(RedisGuard(stack.redis), Keys(f"bench-bot-{_variant(app)}", hash_tags=False), max_notes=50)
    await store.add(store.person_key("T0001", ALICE), "works on the payments team", origin="C0")
    await store.add(store.channel_key("T0001", channel), "deploys freeze on Fridays", origin=channel)
    figures: dict[int, TurnFigures] = {}
    thread_ts = ""
    for turn in range(1, turns + 1):
        if turn == change_before:
            await store.add(store.person_key("T0001", ALICE), "prefers short answers", origin="C0")
        first = len(stack.model.requests)
        await stack.reset_redis_stats()
        before = await stack.redis_round_trips()
        if turn == 1:
            await mention(stack, app, channel, question(1))
            thread_ts = stack.slack.messages(channel)[-1]["ts"]
        else:
            await follow_up(stack, app, channel, thread_ts, question(turn), user=ALICE)
        await asyncio.sleep(SETTLE_SECONDS)
        trips = await stack.redis_round_trips() - before - 1  # less this read's own
        commands = sum((await stack.redis_commands()).values())
        requests = stack.model.requests[first:]
        sent = bool(requests) and any(
            role == "user" and text.startswith(NOTES_HEADER) for role, text in requests[0].input_texts
        )
        figures[turn] = TurnFigures(sum(r.raw_bytes for r in requests), sent, trips, commands)
    return figures


def _variant(app: AppProcess) -> str:
    return app.log_path.stem.removeprefix("bot-")


def render_notes(figures: NotesFigures | None) -> list[str]:
    if figures is None or not figures.on:
        return []
    on, off, change = figures.on, figures.off, figures.change_before
    last = max(on)
    quiet = [t for t in on if t >= 2 and t != change]  # chained turns with no change
    extra = [on[t].round_trips - off[t].round_trips for t in quiet if t in off]
    lines = [
        "",
        "| 8. long-term memory (one channel thread; a note added elsewhere before turn "
        f"{change}) | LONG_TERM_MEMORY=on | off | target |",
        "|---|---:|---:|---|",
    ]

    def row(name: str, a: str, b: str, target: str = "") -> None:
        lines.append(f"| 8. {name} | {a} | {b} | {target} |")

    for turn in (t for t in (1, 2, 10, 25, 50) if t <= last):
        row(f"model request at turn {turn} (bytes)", f"{on[turn].request_bytes:,}", f"{off[turn].request_bytes:,}")
    if 2 in on and last > 2:
        ratio = on[last].request_bytes / on[2].request_bytes
        row(
            f"turn {last} ÷ turn 2 (bytes)", f"{ratio:.3f}×", "", "≤ 1.1× " + ("(met)" if ratio <= 1.1 else "(not met)")
        )
    sent_on = [t for t in on if on[t].notes_sent]
    row("turns whose request carried notes", ", ".join(map(str, sent_on)) or "none", "—", f"1 and {change}")
    row("Redis round trips (socket reads) at turn 1", f"{on[1].round_trips}", f"{off[1].round_trips}")
    row("Redis commands at turn 1 (scripts' included)", f"{on[1].commands}", f"{off[1].commands}")
    if quiet:
        row(
            "Redis round trips per chained turn, no change (median)",
            f"{statistics.median(on[t].round_trips for t in quiet):g}",
            f"{statistics.median(off[t].round_trips for t in quiet if t in off):g}",
        )
        row(
            "extra round trips per chained turn, no change (median of on − off)",
            f"{statistics.median(extra):g}",
            "",
            "0",
        )
    if change in on and change in off:
        row(
            f"Redis round trips at turn {change} (after the change)",
            f"{on[change].round_trips}",
            f"{off[change].round_trips}",
        )
        row(f"Redis commands at turn {change}", f"{on[change].commands}", f"{off[change].commands}")
    return lines
