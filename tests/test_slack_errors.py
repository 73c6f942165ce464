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
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ALICE
from contract.slack_reactions import RATE_LIMITED, documented, reaction, tables
from harness import say

from bot.shared import phrases
from bot.turn.history import message_text

SLOW = dict(stream_chunks=6, stream_chunk_delay=0.3)  # an answer that streams for about 1.5 s: a few appends
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
    channel = None if where else scenario.channel  # a user or a file: calls about them name no channel
    if scenario.error == RATE_LIMITED:  # Slack's 429, with Retry-After
        slack.rate_limit_next(scenario.method, channel=channel, **where)
    else:
        slack.fail_next(scenario.method, scenario.error, channel=channel, **where)


async def side_by_side(items: list[Scenario], step: Callable[[Scenario], Awaitable[None]]) -> None:
    limit = asyncio.Semaphore(SIDE_BY_SIDE)

    async def one(scenario: Scenario) -> None:
        async with limit:
            await step(scenario)

    await asyncio.gather(*(one(s) for s in items))


def request_for(model, marker: str):
    """The model request that answered the message ending in `marker` (the last one, should the OpenAI client have
    timed out and asked again on a loaded machine)."""
    said = re.compile(rf": {re.escape(marker)}(?!\w)")
    matching = [r for r in model.requests if said.search(r.last_user_text)]
    answered = [r for r in matching if r.status == 200]
    assert matching, f"no model request for {marker}"
    return (answered or matching)[-1]


def texts(slack, scenario: Scenario) -> list[str]:
    """What the bot's messages in the scenario's thread (a DM's top level, in a DM) say, as Markdown."""
    thread = None if scenario.channel.startswith("D") else scenario.thread
    return [message_text(m) for m in slack.bot_messages(scenario.channel, thread)]


def calls_in(slack, method: str, scenario: Scenario, before: int | None = None) -> list[Any]:
    """The calls of `method` about the scenario's channel (of the first `before` calls to Slack, if given)."""
    calls = slack.calls[:before] if before is not None else slack.calls
    about = (scenario.channel,)
    return [c for c in calls if c.method == method and {c.args.get("channel"), c.args.get("channel_id")} & set(about)]


async def ask_and_follow_up(
    bot,
    slack,
    items: list[Scenario],
    *,
    ask: Callable[[Scenario], Awaitable[None]] | None = None,
    between: Callable[[], None] = lambda: None,
) -> int:
    """Each scenario's question (its fault injected), then, once all are handled, a follow-up in each thread
    (at a DM's top level, in a DM). Returns how many calls Slack had before the follow-ups."""

    async def ask_in_a_new_thread(s: Scenario) -> None:
        s.thread = (await say(bot, slack, s.channel, ALICE, f"<@UBOT> q-{s.error}"))["ts"]

    async def follow_up(s: Scenario) -> None:
        in_dm = s.channel.startswith("D")
        await say(bot, slack, s.channel, ALICE, f"<@UBOT> f-{s.error}", thread_ts=None if in_dm else s.thread)

    await side_by_side(items, ask or ask_in_a_new_thread)
    await bot.settled(timeout=30)
    assert slack.faults_left() == 0, "an injected error was never met: the test proves nothing for it"
    between()
    first_round = len(slack.calls)
    await side_by_side(items, follow_up)
    await bot.settled(timeout=30)
    return first_round


def assert_memory(model, s: Scenario, *, advanced: bool) -> None:
    """The follow-up was answered, chained from the answer the person saw (or not, when they saw none)."""
    asked, followed = request_for(model, f"q-{s.error}"), request_for(model, f"f-{s.error}")
    assert followed.status == 200, s
    if advanced:
        assert followed.previous_response_id == asked.response_id, s
    else:
        assert followed.previous_response_id != asked.response_id, s


def test_the_contract_readme_says_what_the_bot_does_for_each_error():
    readme = (Path(__file__).parent / "contract" / "README.md").read_text()
    assert tables() in readme, "run: python tests/contract/slack_reactions.py, and paste its tables into the README"


# chat.postMessage: every documented error -------------------------------------------------------------------


async def test_every_error_of_posting_an_answer(start_bot, slack, model):
    bot = await start_bot(instant_answer_seconds=60.0)  # answers are posted whole, in one call, however loaded
    items = scenarios("chat.postMessage", documented("chat.postMessage"))
    for s in items:
        inject(slack, s)

    first_round = await ask_and_follow_up(bot, slack, items)

    for s in items:
        answer, later = (request_for(model, f"{m}-{s.error}").reply_text for m in "qf")
        shown, posts = texts(slack, s), len(calls_in(slack, "chat.postMessage", s, first_round))
        if s.expected == "lost":  # Slack will not take it here: nothing shown, nothing remembered, one try
            assert (shown, posts) == ([later], 1), s
            assert_memory(model, s, advanced=False)
        else:  # waits, once_more, plain_text: the answer arrives once, after one more try
            assert (shown, posts) == ([answer, later], 2), s
            assert_memory(model, s, advanced=True)


# The streaming methods and chat.update: one error per reaction (a workspace streams 20 answers a minute) ----------

STREAMING = {
    "chat.startStream": ["channel_type_not_supported", "internal_error", RATE_LIMITED, "is_archived"],
    "chat.appendStream": ["channel_not_found", "message_not_in_streaming_state", "stopped_by_user", RATE_LIMITED],
    "chat.stopStream": ["msg_blocks_too_long", "message_not_in_streaming_state", "stopped_by_user", RATE_LIMITED],
    "chat.update": ["message_not_found", "edit_window_closed", "msg_too_long", RATE_LIMITED],
}


def test_the_streaming_errors_chosen_cover_every_reaction_of_their_method():
    for method, chosen in STREAMING.items():
        assert {reaction(method, e) for e in chosen} == {reaction(method, e) for e in documented(method)}, method


@pytest.mark.parametrize("method", list(STREAMING))
async def test_errors_while_streaming_an_answer(start_bot, slack, model, method):
    bot = await start_bot()
    items = scenarios(method, STREAMING[method])
    for s in items:
        if method == "chat.update":  # where Slack will not stream, the answer is one message, edited
            slack.fail_next("chat.startStream", "channel_type_not_supported", channel=s.channel)
        inject(slack, s)
    model.stream_chunks, model.stream_chunk_delay = SLOW["stream_chunks"], SLOW["stream_chunk_delay"]

    def quick() -> None:
        model.stream_chunk_delay = 0.0

    first_round = await ask_and_follow_up(bot, slack, items, between=quick)

    for s in items:
        answer, later = (request_for(model, f"{m}-{s.error}").reply_text for m in "qf")
        *shown, last = texts(slack, s)
        assert last == later, s
        if s.expected == "stopped":  # the person pressed Stop: what was shown stays, nothing after it
            assert len(shown) == 1 and answer.startswith(shown[0]), s
            # Refused at chat.stopStream, the answer may all have been appended already (a loaded machine
            # flushes late); refused at an append, the rest was never shown.
            assert shown[0] != answer or method == "chat.stopStream", s
        else:  # the whole answer, once: in one message, or cut where Slack stopped taking it
            assert "".join(shown) == answer, s
            # Cut where Slack stopped taking it; a refused stop that had nothing left to add leaves one message.
            assert len(shown) in ((1, 2) if s.expected in ("rest_posted", "new_message") else (1,)), s
        assert len(calls_in(slack, method, s, first_round)) <= 5, s  # no storm: a few pieces, at most one retry
        assert_memory(model, s, advanced=True)


# Status, reactions, history, files and names: every documented error ------------------------------------------


async def test_every_error_of_the_thinking_status(start_bot, slack, model):
    bot = await start_bot()
    items = scenarios("assistant.threads.setStatus", documented("assistant.threads.setStatus"))
    for s in items:
        inject(slack, s)
    model.latency = 1.0  # the status shows while the model thinks

    def quick() -> None:
        model.latency = 0.0

    first_round = await ask_and_follow_up(bot, slack, items, between=quick)

    for s in items:
        answer, later = (request_for(model, f"{m}-{s.error}").reply_text for m in "qf")
        assert texts(slack, s) == [answer, later], s
        tries = len(calls_in(slack, "assistant.threads.setStatus", s, first_round))
        eyes = calls_in(slack, "reactions.add", s, first_round)
        if s.expected == "waits":
            assert (tries, eyes) == (2, []), s
        else:  # eyes on the question instead, taken away once answered
            assert (tries, len(eyes)) == (1, 1), s
            assert len(calls_in(slack, "reactions.remove", s, first_round)) == 1, s
        assert_memory(model, s, advanced=True)


@pytest.mark.parametrize("method", ["reactions.add", "reactions.remove"])
async def test_every_error_of_the_eyes_on_a_question(start_bot, slack, model, method):
    bot = await start_bot()
    items = scenarios(method, documented(method), prefix="D")  # at a DM's top level
    for s in items:
        inject(slack, s)
    model.latency = 1.0

    def quick() -> None:
        model.latency = 0.0

    first_round = await ask_and_follow_up(bot, slack, items, between=quick)

    for s in items:
        answer, later = (request_for(model, f"{m}-{s.error}").reply_text for m in "qf")
        assert texts(slack, s) == [answer, later], s
        assert len(calls_in(slack, method, s, first_round)) == (2 if s.expected == "waits" else 1), s
        assert_memory(model, s, advanced=True)


@pytest.mark.parametrize("method", ["conversations.replies", "conversations.history"])
async def test_every_error_of_reading_the_history(start_bot, slack, model, method):
    bot = await start_bot()
    in_dm = method == "conversations.history"  # a DM's first message reads the DM; a thread's, the thread
    items = scenarios(method, documented(method), prefix="D" if in_dm else "C")
    for s in items:
        inject(slack, s)

    async def ask(s: Scenario) -> None:
        if in_dm:
            s.thread = (await say(bot, slack, s.channel, ALICE, f"q-{s.error}"))["ts"]
            return
        s.thread = slack.post_user_message(s.channel, ALICE, "a thread the bot is not in yet")["ts"]
        await say(bot, slack, s.channel, ALICE, f"<@UBOT> q-{s.error}", thread_ts=s.thread)

    await ask_and_follow_up(bot, slack, items, ask=ask)

    for s in items:
        later = request_for(model, f"f-{s.error}")
        if s.expected == "waits":
            answer = request_for(model, f"q-{s.error}")
            assert texts(slack, s) == [answer.reply_text, later.reply_text], s
            assert later.previous_response_id == answer.response_id, s
        else:  # a short note, no answer; the next message is answered from the history
            assert texts(slack, s) == [phrases.NO_HISTORY, later.reply_text], s
            assert not [r for r in model.requests if r.last_user_text.endswith(f": q-{s.error}")], s
            assert later.previous_response_id is None and later.status == 200, s


async def test_every_error_of_looking_up_a_slack_connect_file(start_bot, slack, model):
    bot = await start_bot()
    items = scenarios("files.info", documented("files.info"))
    files = {}

    async def ask(s: Scenario) -> None:
        image = slack.files.add(
            "chart.png",
            b"\x89PNG\r\n\x1a\n" + s.error.encode() * 20,
            mimetype="image/png",
            filetype="png",
            pretty_type="PNG",
        )
        files[s.error] = image
        inject(slack, s, file=image["id"])
        stub = {"id": image["id"], "file_access": "check_file_info"}
        event = slack.post_user_message(s.channel, ALICE, f"<@UBOT> q-{s.error}", files=[stub])
        event["files"] = [stub]
        s.thread = event["ts"]
        await bot.send_event(event)
        await bot.mention(event)

    await ask_and_follow_up(bot, slack, items, ask=ask)

    for s in items:
        asked = request_for(model, f"q-{s.error}")
        assert texts(slack, s)[0] == asked.reply_text, s
        tries = [c for c in slack.calls_to("files.info") if c.args["file"] == files[s.error]["id"]]
        if s.expected == "waits":
            assert len(asked.files_sent) == 1 and len(tries) == 2, s
        else:  # the model hears the file could not be read, and answers
            assert asked.files_sent == [] and len(tries) == 1, s
            assert "not readable: the bot has no access to it" in " ".join(t for _r, t in asked.input_texts), s
        assert_memory(model, s, advanced=True)


async def test_every_error_of_looking_up_a_name(start_bot, slack, model):
    bot = await start_bot()
    items = scenarios("users.info", documented("users.info"))

    async def ask(s: Scenario) -> None:
        person = f"UP{s.channel}"
        slack.add_user(person, f"Person {s.error}", f"person-{s.channel}")
        inject(slack, s, user=person)
        s.thread = (await say(bot, slack, s.channel, person, f"<@UBOT> q-{s.error}"))["ts"]

    await ask_and_follow_up(bot, slack, items, ask=ask)

    for s in items:
        person = f"UP{s.channel}"
        asked = request_for(model, f"q-{s.error}")
        assert texts(slack, s)[0] == asked.reply_text, s
        tries = [c for c in slack.calls_to("users.info") if c.args["user"] == person]
        assert len(tries) == (2 if s.expected == "waits" else 1), s
        if s.expected == "waits":
            assert asked.last_user_text.startswith(f"person-{s.channel} (<@{person}>)"), s
        else:  # named by id, answered all the same
            assert asked.last_user_text.startswith(f"<@{person}>: "), s
