"""Every documented error of the Slack calls on the answer path, injected once each: the person still gets the
answer (or a short clear note), nothing is answered twice, the memory stays consistent and the bot calls again
no more than it should.

What the bot does about each error is `reaction()` in tests/contract/slack_reactions.py (also the tables of
tests/contract/README.md). The errors of one method run side by side, one thread each in a channel of its own,
in one bot. The streaming methods share a workspace's small budget of streams (20 a minute), so their errors are
injected one per reaction, not all of them; each error maps to its reaction by the same sets the code reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from conftest import ALICE
from contract.slack_reactions import RATE_LIMITED, documented, reaction
from harness import say

SLOW = dict(stream_chunks=4, stream_chunk_delay=0.25)  # an answer that streams for about a second
SIDE_BY_SIDE = 24  # scenarios in flight at once


@dataclass
class Scenario:
    method: str
    error: str
    channel: str
    thread: str = ""

    @property
    def expected(self) -> str:
        return reaction(self.method, self.error)

    def __str__(self) -> str:
        return f"{self.method} {self.error} ({self.expected}) in {self.channel}"


def scenarios(method: str, errors: list[str], prefix: str = "C") -> list[Scenario]:
    return [Scenario(method, error, f"{prefix}{n:03d}") for n, error in enumerate(errors)]


def inject(slack, scenario: Scenario, **where: str) -> None:
    if scenario.error == RATE_LIMITED:  # Slack's 429, with Retry-After
        slack.rate_limit_next(scenario.method, channel=scenario.channel if not where else None)
    else:
        slack.fail_next(scenario.method, scenario.error, channel=scenario.channel if not where else None, **where)


async def side_by_side(items: list[Scenario], step: Callable[[Scenario], Awaitable[None]]) -> None:
    limit = asyncio.Semaphore(SIDE_BY_SIDE)

    async def one(scenario: Scenario) -> None:
        async with limit:
            await step(scenario)

    await asyncio.gather(*(one(s) for s in items))


def request_for(model, marker: str):
    [request] = [r for r in model.requests if r.last_user_text.endswith(f": {marker}")]
    return request


def texts(slack, scenario: Scenario) -> list[str]:
    return [m.get("text", "") for m in slack.bot_messages(scenario.channel, scenario.thread)]


def calls_in(slack, method: str, scenario: Scenario) -> list[Any]:
    return [c for c in slack.calls_to(method) if scenario.channel in (c.args.get("channel"), c.args.get("channel_id"))]


async def ask_and_follow_up(bot, slack, items: list[Scenario], *, settle: float = 30) -> None:
    """Each scenario's question (its fault injected), then, once all are handled, a follow-up in each thread."""

    async def ask(s: Scenario) -> None:
        s.thread = (await say(bot, slack, s.channel, ALICE, f"<@UBOT> q-{s.error}"))["ts"]

    async def follow_up(s: Scenario) -> None:
        await say(bot, slack, s.channel, ALICE, f"<@UBOT> f-{s.error}", thread_ts=s.thread)

    await side_by_side(items, ask)
    await bot.settled(timeout=settle)
    assert slack.faults_left() == 0, "an injected error was never met: the test proves nothing for it"
    await side_by_side(items, follow_up)
    await bot.settled(timeout=settle)


def assert_memory(model, s: Scenario, *, advanced: bool) -> None:
    """The follow-up was answered, chained from the answer the person saw (or not, when they saw none)."""
    asked, followed = request_for(model, f"q-{s.error}"), request_for(model, f"f-{s.error}")
    assert followed.status == 200, s
    if advanced:
        assert followed.previous_response_id == asked.response_id, s
    else:
        assert followed.previous_response_id != asked.response_id, s


# chat.postMessage: every documented error -------------------------------------------------------------------


async def test_every_error_of_posting_an_answer(start_bot, slack, model):
    bot = await start_bot(instant_answer_seconds=3.0)  # answers are posted whole, in one call
    items = scenarios("chat.postMessage", documented("chat.postMessage"))
    for s in items:
        inject(slack, s)

    await ask_and_follow_up(bot, slack, items)

    for s in items:
        answer, later = (request_for(model, f"{m}-{s.error}").reply_text for m in "qf")
        shown, posts = texts(slack, s), len(calls_in(slack, "chat.postMessage", s))
        if s.expected == "lost":  # Slack will not take it here: nothing shown, nothing remembered, one try
            assert (shown, posts) == ([later], 2), s  # (the second post is the follow-up's answer)
            assert_memory(model, s, advanced=False)
        else:  # waits, once_more, plain_text: the answer arrives once, after one more try
            assert (shown, posts) == ([answer, later], 3), s
            assert_memory(model, s, advanced=True)
