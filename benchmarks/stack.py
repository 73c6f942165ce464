"""The stage every figure runs on: the fakes, a real Redis and the app under test, and a mention or follow-up
timed from Slack's side."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from fakes.openai import FakeOpenAI, RecordedRequest
from fakes.slack import Call, FakeSlack
from harness import RedisServer

from .apps import AppProcess

ALICE = "UALICE"
BOB = "UBOB"
CAROL = "UCAROL"
BOT_USER = "UBOT"
ANSWER_METHODS = ("chat.postMessage", "chat.startStream")
ANSWER_TIMEOUT_SECONDS = 60.0  # a guard against a lost answer, not a target: a loaded machine is slow
# People take seconds to reply; the bot stores its memory just after posting. A follow-up without a mention
# that came before that would not be recognised as part of the bot's thread, so the benchmark pauses too.
THINK_SECONDS = 0.05
_channel_numbers = itertools.count(1)


def new_channel() -> str:
    return f"C{next(_channel_numbers):08d}"


def model_answer(request: RecordedRequest) -> str:
    """A plausible answer of a few hundred characters: the baseline re-sends every one of them."""
    question = request.last_user_text[-60:]
    return (
        f"About “{question}”: here is a short answer with a list.\n\n"
        "- The first point explains the idea in a sentence or two, as an assistant would.\n"
        "- The second point gives an example, with `code` and a link to the docs.\n"
        "- The third point says what to watch out for.\n\n"
        "Tell me if you want more detail on any of these."
    )


@dataclass
class Stack:
    """The fakes and Redis every app talks to, and what the benchmark watches on them."""

    slack: FakeSlack
    model: FakeOpenAI
    redis_server: RedisServer
    redis: aioredis.Redis
    log_dir: Path
    waiting: dict[tuple[str, str], asyncio.Future[Call]] = field(default_factory=dict)
    page_seconds: list[float] = field(default_factory=list)

    @classmethod
    async def start(cls, log_dir: Path) -> Stack:
        slack = FakeSlack()
        slack.add_user(ALICE, "Alice Liddell", "alice")
        slack.add_user(BOB, "Bob Builder", "bob")
        slack.add_user(CAROL, "Carol Danvers", "carol")
        await slack.start()
        model = FakeOpenAI()
        model.default_reply = model_answer
        await model.start()
        redis_server = RedisServer()
        redis_server.start()
        stack = cls(slack, model, redis_server, aioredis.Redis.from_url(redis_server.url), log_dir)
        slack.call_listeners.append(stack._on_slack_call)
        return stack

    async def stop(self) -> None:
        await self.redis.aclose()
        self.redis_server.stop()
        await self.model.stop()
        await self.slack.stop()

    async def start_app(
        self, name: str, *, profile: Path | None = None, variant: str = "", options: tuple[str, ...] = ()
    ) -> AppProcess:
        return await AppProcess.start(
            name,
            slack_api_url=self.slack.api_url,
            openai_base_url=self.model.base_url,
            redis_url=self.redis_server.url,
            log_dir=self.log_dir,
            profile=profile,
            variant=variant,
            options=options,
        )

    async def start_workers(self, workers: int) -> AppProcess:
        return await AppProcess.start_workers(
            workers,
            slack_api_url=self.slack.api_url,
            openai_base_url=self.model.base_url,
            redis_url=self.redis_server.url,
            log_dir=self.log_dir,
        )

    def expect_answer(self, channel: str, thread_ts: str) -> asyncio.Future[Call]:
        future: asyncio.Future[Call] = asyncio.get_running_loop().create_future()
        self.waiting[(channel, thread_ts)] = future
        return future

    def _on_slack_call(self, call: Call) -> None:
        if call.method in ANSWER_METHODS:
            key = (str(call.args.get("channel", "")), str(call.args.get("thread_ts", "")))
            future = self.waiting.pop(key, None)
            if future is not None and not future.done():
                future.set_result(call)
        elif call.method == "conversations.replies":
            self.page_seconds.append(time.monotonic() - call.at)  # as Slack spent it, the page delay included

    async def redis_commands(self) -> Counter[str]:
        """Commands Redis ran since the last `reset_redis_stats`, by name (the benchmark's own left out)."""
        stats = await self.redis.info("commandstats")
        counts: Counter[str] = Counter()
        for name, values in stats.items():
            command = name.removeprefix("cmdstat_")
            if command not in ("config", "info"):
                counts[command] = int(values["calls"])
        return counts

    async def reset_redis_stats(self) -> None:
        await self.redis.config_resetstat()

    async def redis_round_trips(self) -> int:
        """Requests Redis has read from its clients (a pipeline or a script is one), this call's own included.

        `total_reads_processed` counts socket reads: no MONITOR, no relay in the apps' way."""
        return int((await self.redis.info("stats"))["total_reads_processed"])


@dataclass(frozen=True)
class Turn:
    answered: float  # seconds from sending the event to the answer arriving at Slack
    acks: tuple[float, ...]  # seconds until each HTTP request was answered
    answered_at: float  # the answer's arrival at Slack, on the monotonic clock


async def _timed(request: Any) -> float:
    started = time.monotonic()
    answer = await request
    if answer.status != 200:
        raise RuntimeError(f"the app answered HTTP {answer.status}: {answer.text[:200]}")
    return time.monotonic() - started


async def _await_answer(future: asyncio.Future[Call], app: AppProcess, where: str) -> Call:
    try:
        return await asyncio.wait_for(future, ANSWER_TIMEOUT_SECONDS)
    except TimeoutError:
        raise RuntimeError(f"{app.name} did not answer in {where}; see {app.log_path}") from None


async def mention(stack: Stack, app: AppProcess, channel: str, text: str, *, thread_ts: str | None = None) -> Turn:
    """Someone mentions the bot. Slack sends `app_mention`, and `message` too to apps subscribed to messages
    (the bot and the baseline); the bare handlers answer any message, so they get the mention only."""
    event = stack.slack.post_user_message(channel, ALICE, f"<@{BOT_USER}> {text}", thread_ts=thread_ts)
    answer = stack.expect_answer(channel, thread_ts or event["ts"])
    started = time.monotonic()
    requests = [app.slack.mention(event)]
    if app.name in ("bot", "baseline"):
        requests.append(app.slack.send_event(event))
    acks = await asyncio.gather(*(_timed(r) for r in requests))
    call = await _await_answer(answer, app, f"{channel}/{event['ts']}")
    return Turn(call.at - started, tuple(acks), call.at)


async def follow_up(stack: Stack, app: AppProcess, channel: str, thread_ts: str, text: str, *, user: str = BOB) -> Turn:
    """A reply in a thread the bot takes part in, without a mention: one `message` event."""
    await asyncio.sleep(THINK_SECONDS)
    event = stack.slack.post_user_message(channel, user, text, thread_ts=thread_ts)
    answer = stack.expect_answer(channel, thread_ts)
    started = time.monotonic()
    ack = await _timed(app.slack.send_event(event))
    call = await _await_answer(answer, app, f"{channel}/{thread_ts}")
    return Turn(call.at - started, (ack,), call.at)


def question(n: int) -> str:
    return f"Question {n}: how would you approach step {n} of the migration, and what could go wrong there?"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


# 1. Payload per turn ------------------------------------------------------------------------------
