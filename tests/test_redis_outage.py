"""Redis goes away (refusing connections, or hung): the bot keeps answering, then remembers what it said."""

from __future__ import annotations

import asyncio
import logging

import pytest
from conftest import ALICE, BOB, all_memory_modes
from harness import BotUnderTest, RedisServer, say

OUTAGE_WARNING = "Redis is unreachable"


async def _until_redis_is(bot: BotUnderTest, up: bool) -> None:
    """/healthz is what an admin watches; the bot probes Redis about once a second."""
    for _ in range(100):
        if (await bot.health())["redis"] is up:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"/healthz never reported redis={up}")


def _said(turns: list[tuple[str, str]]) -> list[str]:
    """What was said, without the "name (<@id>): " a person's turn starts with."""
    return [text.split(": ", 1)[1] if role == "user" else text for role, text in turns]


def _go_down(server: RedisServer, how: str) -> None:
    if how == "refusing":
        server.stop(keep_data=True)
    else:
        server.freeze()


def _come_back(server: RedisServer, how: str) -> None:
    if how == "refusing":
        server.start()  # the same port, the data it had
    else:
        server.thaw()


@all_memory_modes
@pytest.mark.parametrize("how", ["refusing", "hung"])
async def test_during_a_redis_outage_the_bot_keeps_answering_and_remembers_it_afterwards(
    start_bot, slack, model, redis_server, caplog, how, memory_mode
):
    caplog.set_level(logging.WARNING)
    bot = await start_bot(redis_url=redis_server.url)
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> my dog is called Rex")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)
    await say(bot, slack, "C1", BOB, "mine is called Fido", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 2)
    await bot.settled()

    _go_down(redis_server, how)
    await say(bot, slack, "C1", ALICE, "whose dog is Rex?", thread_ts=thread)  # no mention: still its thread

    await slack.wait_for_bot_messages("C1", thread, 3)
    during = model.requests[-1]
    assert during.previous_response_id is None  # the chain's id lives in Redis: rebuilt from Slack instead
    assert _said(during.context) == [
        "my dog is called Rex",
        "Reply 1: alice (<@UALICE>): my dog is called Rex",
        "mine is called Fido",
        "Reply 2: bob (<@UBOB>): mine is called Fido",
        "whose dog is Rex?",
    ]
    assert (await bot.health())["redis"] is False

    await say(bot, slack, "C1", BOB, "and whose is Fido?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 4)
    assert _said(model.requests[-1].context)[-3:] == [
        "whose dog is Rex?",
        "Reply 3: alice (<@UALICE>): whose dog is Rex?",
        "and whose is Fido?",
    ]
    if memory_mode == "responses":
        assert model.requests[-1].previous_response_id == during.response_id  # never back to an older id
    last_during_outage = model.requests[-1].response_id
    elsewhere = await say(bot, slack, "C1", ALICE, "<@UBOT> a new thread while Redis is away")
    await slack.wait_for_bot_messages("C1", elsewhere["ts"], 1)

    _come_back(redis_server, how)
    await _until_redis_is(bot, up=True)

    await say(bot, slack, "C1", ALICE, "thanks!", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 5)
    assert _said(model.requests[-1].context)[-3:] == [
        "and whose is Fido?",
        "Reply 4: bob (<@UBOB>): and whose is Fido?",
        "thanks!",
    ]
    assert "my dog is called Rex" in _said(model.requests[-1].context)
    if memory_mode == "responses":
        assert model.requests[-1].previous_response_id == last_during_outage  # chaining resumed, no restart
        assert model.requests[-1].input_texts == [("user", "alice (<@UALICE>): thanks!")]
    await say(bot, slack, "C1", BOB, "and here?", thread_ts=elsewhere["ts"])  # its new thread is its own too
    await slack.wait_for_bot_messages("C1", elsewhere["ts"], 2)
    outage_warnings = [r for r in caplog.records if OUTAGE_WARNING in r.getMessage()]
    assert len(outage_warnings) == 1  # one warning for the whole outage, not one per message
    assert outage_warnings[0].levelno == logging.WARNING


async def _written_back(caplog) -> None:
    for _ in range(100):
        if any("Wrote back the memory" in r.getMessage() for r in caplog.records):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the memory kept during the outage was never written back")


@pytest.mark.parametrize("data", ["kept", "lost"])
async def test_turns_another_process_answered_during_an_outage_are_everyones_memory_afterwards(
    start_bot, slack, model, redis_server, caplog, data
):
    caplog.set_level(logging.INFO)
    first, second = await start_bot(redis_url=redis_server.url), await start_bot(redis_url=redis_server.url)
    question = await say(first, slack, "C1", ALICE, "<@UBOT> remember 42")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)
    await first.settled()

    redis_server.stop(keep_data=data == "kept")
    await say(second, slack, "C1", ALICE, "and 43", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 2)
    during = model.requests[-1]
    assert during.previous_response_id is None
    assert _said(during.input_texts) == ["remember 42", "Reply 1: alice (<@UALICE>): remember 42", "and 43"]
    redis_server.start()
    await _written_back(caplog)

    await say(first, slack, "C1", ALICE, "which numbers?", thread_ts=thread)

    await slack.wait_for_bot_messages("C1", thread, 3)
    assert model.requests[-1].previous_response_id == during.response_id


async def test_slash_reset_during_an_outage_is_honoured_and_written_back(start_bot, slack, model, redis_server, caplog):
    caplog.set_level(logging.INFO)
    bot = await start_bot(redis_url=redis_server.url)
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> the secret is banana")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)
    await bot.settled()

    redis_server.freeze()
    response = await bot.command("/reset", channel_id="C1", user_id=ALICE, response_url=slack.response_url())
    assert response.status == 200 and "forgotten every thread in this channel" in response.text
    redis_server.thaw()
    await _written_back(caplog)

    other_process = await start_bot(redis_url=redis_server.url)
    model.forget_all()  # nothing left but Slack's history, which still shows the secret
    await say(other_process, slack, "C1", ALICE, "<@UBOT> what is the secret?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 2)
    assert "banana" not in " ".join(_said(model.requests[-1].input_texts))


async def test_a_turn_under_way_when_redis_goes_away_does_not_block_its_thread_afterwards(
    start_bot, slack, model, redis_server, caplog
):
    caplog.set_level(logging.INFO)
    first, second = await start_bot(redis_url=redis_server.url), await start_bot(redis_url=redis_server.url)
    model.hold_next()
    question = await say(first, slack, "C1", ALICE, "<@UBOT> remember 42")
    thread = question["ts"]
    await slack.wait_for(lambda: model.waiting == 1)  # the turn holds the thread's lock in Redis

    redis_server.stop(keep_data=True)
    model.release()  # the answer goes out; neither the memory nor the lock's release reach Redis
    await slack.wait_for_bot_messages("C1", thread, 1)
    await first.settled()
    redis_server.start()
    await _written_back(caplog)

    await say(second, slack, "C1", ALICE, "which number?", thread_ts=thread)

    # Well before the lock would have expired on its own (a minute), and chained from the answer.
    await slack.wait_for_bot_messages("C1", thread, 2)
    assert model.requests[-1].previous_response_id == model.requests[0].response_id
