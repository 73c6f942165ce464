"""Threads of any length: a chain that outgrows the model's window is answered anyway, from Slack's history,
and compaction keeps a long one within bounds before it gets there."""

from __future__ import annotations

import logging

import pytest
from conftest import ALICE, BOB
from fakes.openai import RecordedRequest, count_tokens
from harness import say

from bot.shared import phrases

DM = "D1"
FILLER = "with a few words of detail so that the thread grows at a realistic pace, " * 2


def latest_two(request: RecordedRequest) -> str:
    """The fake model says which messages it can see, newest last: proof of what it was given."""
    said = [text.split(": ", 1)[1].split(" with ", 1)[0] for role, text in request.context if role == "user"]
    return "I see: " + " | ".join(said[-2:])


def instruction_tokens(request: RecordedRequest) -> int:
    assert request.usage is not None
    return request.usage["input_tokens"] - sum(count_tokens(f"{role}: {text}") for role, text in request.context)


async def test_a_hundred_turns_that_outgrow_the_window_are_all_answered_and_the_thread_stays_chained(
    start_bot, slack, model
):
    bot = await start_bot(compact_threshold_tokens=0, history_budget_chars=3_000)  # no compaction: overflow only
    model.context_window = 1_500  # tokens; about 25 turns of this thread
    model.default_reply = latest_two
    root = await say(bot, slack, "C1", ALICE, f"<@UBOT> message 1 {FILLER}")
    await slack.wait_for_bot_messages("C1", root["ts"], 1)

    for n in range(2, 101):
        await say(bot, slack, "C1", ALICE if n % 2 else BOB, f"message {n} {FILLER}", thread_ts=root["ts"])
        answers = await slack.wait_for_bot_messages("C1", root["ts"], n)
        assert answers[-1]["text"] == f"I see: message {n - 1} | message {n}"

    assert {r.status for r in model.requests} == {200, 400}  # it did overflow, and every overflow was answered
    overflows = [r for r in model.requests if r.status == 400]
    assert len(overflows) >= 3 and all(r.previous_response_id for r in overflows)
    await bot.settled()
    last = model.requests[-1].response_id
    await say(bot, slack, "C1", ALICE, "message 101, still there?", thread_ts=root["ts"])
    await slack.wait_for_bot_messages("C1", root["ts"], 101)
    assert model.requests[-1].previous_response_id == last  # chained again after the rebuilds


async def test_a_long_dm_is_compacted_before_it_overflows_and_keeps_its_memory(start_bot, slack, model):
    bot = await start_bot(compact_threshold_tokens=1_000)
    model.context_window = 1_500
    model.default_reply = latest_two

    for n in range(1, 61):
        await say(bot, slack, DM, ALICE, f"message {n} {FILLER}")
        answers = await slack.wait_for_bot_messages(DM, None, n)
        assert answers[-1]["text"] == ("I see: message 1" if n == 1 else f"I see: message {n - 1} | message {n}")

    assert all(r.status == 200 for r in model.requests)  # never refused: compaction kept it within the window
    assert sum(r.compacted for r in model.requests) >= 3
    assert all(r.compact_threshold == 1_000 for r in model.requests)
    assert all(r.previous_response_id for r in model.requests[1:])  # one chain from start to end


@pytest.mark.parametrize("style", ["response.failed", "error"])
async def test_an_overflow_reported_inside_the_stream_is_answered_from_a_rebuilt_chain(start_bot, slack, model, style):
    bot = await start_bot(compact_threshold_tokens=0, history_budget_chars=400)
    model.overflow_style = style
    root = await say(bot, slack, "C1", ALICE, f"<@UBOT> message 1 {FILLER * 2}")
    await slack.wait_for_bot_messages("C1", root["ts"], 1)
    # The chain (a 150-token question, its answer) no longer fits; the thread rebuilt within 400 characters does.
    model.context_window = instruction_tokens(model.requests[0]) + 130

    await say(bot, slack, "C1", BOB, "message 2", thread_ts=root["ts"])

    answers = await slack.wait_for_bot_messages("C1", root["ts"], 2)
    assert answers[-1]["text"].endswith("bob (<@UBOB>): message 2")
    refused, rebuilt = model.requests[-2:]
    assert refused.previous_response_id and refused.stream
    assert rebuilt.previous_response_id is None and rebuilt.status == 200


async def test_a_rebuilt_thread_still_too_long_is_answered_from_the_message_alone(start_bot, slack, model):
    bot = await start_bot(compact_threshold_tokens=0)
    root = await say(bot, slack, "C1", ALICE, f"<@UBOT> message 1 {FILLER * 4}")
    await slack.wait_for_bot_messages("C1", root["ts"], 1)
    # Neither the chain nor the rebuilt thread fits; the short message does.
    model.context_window = instruction_tokens(model.requests[0]) + 30

    await say(bot, slack, "C1", BOB, "message 2", thread_ts=root["ts"])

    answers = await slack.wait_for_bot_messages("C1", root["ts"], 2)
    assert answers[-1]["text"].endswith("bob (<@UBOB>): message 2")
    assert model.requests[-1].input_texts == [("user", "bob (<@UBOB>): message 2")]


async def test_a_message_that_alone_exceeds_the_window_gets_a_true_note(start_bot, slack, model):
    bot = await start_bot()
    model.context_window = 100

    question = await say(bot, slack, "C1", ALICE, f"<@UBOT> {FILLER * 4}")

    [note] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert note["text"] == phrases.TOO_LARGE_EVEN_ALONE


async def test_a_gateway_that_refuses_compaction_and_the_cache_key_still_gets_answers(start_bot, slack, model, caplog):
    bot = await start_bot()
    model.unknown_parameters = {"context_management", "prompt_cache_key"}
    caplog.set_level(logging.WARNING, logger="bot.model.options")

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await say(bot, slack, "C1", ALICE, "again", thread_ts=question["ts"])
    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)

    assert answers[-1]["text"].endswith("alice (<@UALICE>): again")
    assert [r.status for r in model.requests] == [400, 400, 200, 200]  # each refused once, then left out
    assert "context_management" not in model.requests[-1].body and "prompt_cache_key" not in model.requests[-1].body
    assert len([r for r in caplog.records if "refuses" in r.getMessage()]) == 2  # logged once each
