"""The measurements, each run against one app (bot, baseline, SDK handler, floor) on the shared fakes and Redis."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from harness import BOT_TOKEN
from slack_sdk.web.async_client import AsyncWebClient

from bot.shared.conversation_key import ConversationKey
from bot.state.memory import Memory
from bot.state.redis_link import RedisGuard
from bot.state.usage_counters import TurnCount
from bot.turn.history import read_thread

from .apps import AppProcess
from .stack import ALICE, BOB, BOT_USER, CAROL, Stack, follow_up, mention, new_channel, percentile, question


async def payload_per_turn(stack: Stack, app: AppProcess, turns: int) -> dict[int, int]:
    """Bytes of the model request of each turn of one thread."""
    channel = new_channel()
    sizes: dict[int, int] = {}
    first = len(stack.model.requests)
    await mention(stack, app, channel, question(1))
    thread_ts = stack.slack.messages(channel)[-1]["ts"]
    sizes[1] = sum(r.raw_bytes for r in stack.model.requests[first:])
    for turn in range(2, turns + 1):
        first = len(stack.model.requests)
        await follow_up(stack, app, channel, thread_ts, question(turn))
        sizes[turn] = sum(r.raw_bytes for r in stack.model.requests[first:])
    return sizes


# 2. Overhead per turn -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Overhead:
    p50: float
    p99: float
    slack_calls_per_turn: float
    slack_methods: dict[str, float]
    redis_commands_per_turn: float
    redis_by_command: dict[str, float]
    redis_round_trips_per_turn: float
    model_requests_per_turn: float
    cpu_per_turn: float  # the app process's CPU seconds per turn


async def overhead(stack: Stack, app: AppProcess, turns: int, *, threads: int) -> Overhead:
    """Follow-ups spread over `threads` threads, one at a time: event in, complete answer posted."""
    places = []
    for n in range(threads):
        channel = new_channel()
        await mention(stack, app, channel, question(n))  # starts the thread; a warm-up, not measured
        places.append((channel, stack.slack.messages(channel)[-1]["ts"]))
        await follow_up(stack, app, *places[-1], question(n))
    await asyncio.sleep(0.5)  # the warm-up turns' last writes (memory, usage) land after their answers
    await stack.reset_redis_stats()
    round_trips_before = await stack.redis_round_trips()
    cpu_before = app.cpu_seconds()
    calls_before, requests_before = len(stack.slack.calls), len(stack.model.requests)
    times = []
    for n in range(turns):
        channel, thread_ts = places[n % threads]
        times.append((await follow_up(stack, app, channel, thread_ts, question(n))).answered)
    await asyncio.sleep(0.5)  # let anything the turns left running (status cues, trace exports) show up
    cpu = app.cpu_seconds() - cpu_before
    round_trips = await stack.redis_round_trips() - round_trips_before - 1
    redis = await stack.redis_commands()
    methods = Counter(c.method for c in stack.slack.calls[calls_before:])
    return Overhead(
        p50=percentile(times, 50),
        p99=percentile(times, 99),
        slack_calls_per_turn=sum(methods.values()) / turns,
        slack_methods={m: n / turns for m, n in methods.items()},
        redis_commands_per_turn=sum(redis.values()) / turns,
        redis_by_command={c: n / turns for c, n in sorted(redis.items())},
        redis_round_trips_per_turn=round_trips / turns,
        model_requests_per_turn=(len(stack.model.requests) - requests_before) / turns,
        cpu_per_turn=cpu / turns,
    )


# 3. Concurrency -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Concurrency:
    all_answered: float
    ack_p99: float
    ack_max: float


async def concurrency(stack: Stack, app: AppProcess, conversations: int, *, model_latency: float) -> Concurrency:
    """`conversations` new threads mentioning the bot at the same moment, with a slow model."""
    previous_latency, stack.model.latency = stack.model.latency, model_latency
    try:
        started = time.monotonic()
        turns = await asyncio.gather(*(mention(stack, app, new_channel(), question(n)) for n in range(conversations)))
    finally:
        stack.model.latency = previous_latency
    acks = [a for t in turns for a in t.acks]
    return Concurrency(
        all_answered=max(t.answered_at for t in turns) - started,
        ack_p99=percentile(acks, 99),
        ack_max=max(acks),
    )


# 4. Rebuild -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rebuild:
    total: float  # mention in a long thread the bot has no memory of: event to answer posted
    pages: int
    page_seconds: float  # time Slack spent serving the history pages
    model_payload: int
    next_turn: float  # the follow-up after it
    next_turn_pages: int


async def rebuild(stack: Stack, app: AppProcess, messages: int, *, page_delay: float) -> Rebuild:
    channel = new_channel()
    root = stack.slack.post_user_message(channel, ALICE, "Planning the migration: thoughts welcome.")
    for n in range(1, messages):
        text = f"Message {n}: " + "a thought about the plan, with a few details to weigh. " * 2
        if n % 10 == 0:
            stack.slack.post_user_message(channel, BOT_USER, text, thread_ts=root["ts"], bot_id="BBOT")
        else:
            stack.slack.post_user_message(channel, (ALICE, BOB)[n % 2], text, thread_ts=root["ts"])
    stack.slack.page_delay = page_delay
    try:
        stack.page_seconds.clear()
        first = len(stack.model.requests)
        turn = await mention(stack, app, channel, "can you sum this thread up?", thread_ts=root["ts"])
        pages, page_seconds = len(stack.page_seconds), sum(stack.page_seconds)
        payload = sum(r.raw_bytes for r in stack.model.requests[first:])
        stack.page_seconds.clear()
        after = await follow_up(stack, app, channel, root["ts"], "and what should we do first?")
        next_pages = len(stack.page_seconds)
    finally:
        stack.slack.page_delay = 0.0
    return Rebuild(turn.answered, pages, page_seconds, payload, after.answered, next_pages)


async def page_reads_alone(stack: Stack, messages: int, *, page_delay: float) -> float:
    """The floor of a rebuild: reading the same thread's pages with slack_sdk, and nothing else."""
    channel = new_channel()
    root = stack.slack.post_user_message(channel, ALICE, "Planning the migration: thoughts welcome.")
    for n in range(1, messages):
        text = f"Message {n}: " + "a thought about the plan, with a few details to weigh. " * 2
        stack.slack.post_user_message(channel, (ALICE, BOB)[n % 2], text, thread_ts=root["ts"])
    stack.slack.page_delay = page_delay
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=stack.slack.api_url, session=session)
        try:
            started = time.monotonic()
            await read_thread(client, channel, root["ts"])
            return time.monotonic() - started
        finally:
            stack.slack.page_delay = 0.0


# 5. Footprint ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Footprint:
    thread_key_bytes: float  # MEMORY USAGE of a remembered thread's key, averaged over a sample
    used_memory_per_conversation: float  # INFO used_memory delta over the run, per conversation
    rss: dict[int, int]  # conversations so far -> the app's resident memory


async def footprint(stack: Stack, app: AppProcess, conversations: int, *, in_flight: int = 16) -> Footprint:
    """`conversations` new threads, `in_flight` at a time, watching Redis and the app's memory."""
    checkpoints = sorted({0, conversations // 4, conversations // 2, 3 * conversations // 4, conversations})
    rss = {0: app.rss_bytes()}
    used_before = int((await stack.redis.info("memory"))["used_memory"])
    limit = asyncio.Semaphore(in_flight)
    threads_per_channel = 100
    channel = new_channel()

    async def one(n: int, channel: str) -> None:
        async with limit:
            await mention(stack, app, channel, question(n))

    done = 0
    for stop in checkpoints[1:]:
        batch = []
        for n in range(done, stop):
            if n % threads_per_channel == 0:
                channel = new_channel()
            batch.append(one(n, channel))
        await asyncio.gather(*batch)
        done = stop
        rss[done] = app.rss_bytes()
        stack.model.requests.clear()  # the fake's own records; it needs them only for inspection
    used_after = int((await stack.redis.info("memory"))["used_memory"])
    sizes = []
    async for key in stack.redis.scan_iter(match=f"bench-{app.name}:*:thread:*", count=1000):
        sizes.append(int(await stack.redis.memory_usage(key, samples=0) or 0))
        if len(sizes) >= 500:
            break
    return Footprint(
        thread_key_bytes=sum(sizes) / max(1, len(sizes)),
        used_memory_per_conversation=(used_after - used_before) / max(1, conversations),
        rss=rss,
    )


# 6. Tokens ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tokens:
    uncached: dict[int, int]  # turn -> input tokens billed at the uncached rate
    given: dict[int, int]  # turn -> all input tokens (all of them uncached before the cacheable prefix)
    hit_ratio: float  # cached ÷ input tokens over turns 3 to 50 (or the last)
    compacted_turns: int


async def tokens_per_turn(stack: Stack, app: AppProcess, turns: int) -> Tokens:
    """A thread of three people taking turns and mentioning each other, on the fake's prompt cache."""
    channel = new_channel()
    people = (ALICE, BOB, CAROL)
    first = len(stack.model.requests)
    await mention(stack, app, channel, f"{question(1)} <@{BOB}> and <@{CAROL}> will help.")
    thread_ts = stack.slack.messages(channel)[-1]["ts"]
    per_turn = {1: stack.model.requests[first:]}
    for turn in range(2, turns + 1):
        first = len(stack.model.requests)
        speaker, other = people[turn % 3], people[(turn + 1) % 3]
        await follow_up(
            stack, app, channel, thread_ts, f"{question(turn)} What do you think, <@{other}>?", user=speaker
        )
        per_turn[turn] = stack.model.requests[first:]

    def usage(turn: int, field: str) -> int:
        total = 0
        for request in per_turn[turn]:
            if request.usage is not None:
                details = request.usage["input_tokens_details"]
                total += request.usage["input_tokens"] if field == "input" else details["cached_tokens"]
        return total

    window = range(3, min(50, turns) + 1)
    cached, given = sum(usage(t, "cached") for t in window), sum(usage(t, "input") for t in window)
    return Tokens(
        uncached={t: usage(t, "input") - usage(t, "cached") for t in per_turn},
        given={t: usage(t, "input") for t in per_turn},
        hit_ratio=cached / given if given else 0.0,
        compacted_turns=sum(r.compacted for requests in per_turn.values() for r in requests),
    )


async def accounting_round_trips(stack: Stack) -> tuple[float, float]:
    """Redis round trips the usage accounting adds to a turn: the budgets' read (one HMGET of the workspace's day
    hash for the person's, the channel's and the workspace's totals, only with a daily budget set) and the
    counters (one pipeline: the conversation's hash and the day hash by person, channel, model and outcome)."""
    memory = Memory(RedisGuard(stack.redis), prefix="bench-accounting", thread_ttl_seconds=3600)
    key = ConversationKey("T0001", "C00000001", "1767000000.000100")
    counters = {"input": 1000, "cached": 900, "output": 100, "reasoning": 0}

    async def trips(action: Any) -> int:
        before = await stack.redis_round_trips()
        await action()
        return await stack.redis_round_trips() - before - 1

    turn = TurnCount(ALICE, key.channel_id, "gpt-bench", "chained", {"input": 1000, "cached": 900, "output": 100})
    budget_read = await trips(
        lambda: memory.usage.spent_today(key.team_id, "2026-01-01", user_id=ALICE, channel_id=key.channel_id)
    )
    record = await trips(lambda: memory.usage.record(key, day="2026-01-01", turn=turn, counters=counters))
    return float(budget_read), float(record)
