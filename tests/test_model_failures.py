"""When OpenAI fails even after its SDK's retries, people get a short plain note and the thread goes on."""

from __future__ import annotations

import pytest
from conftest import ALICE, all_memory_modes
from harness import say

from bot.shared import phrases


async def _thread_with_one_answer(bot, slack) -> str:
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> my favourite colour is green")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    return question["ts"]


def assert_memory_as_before_the_failure(sent) -> None:
    """The model sees the thread's first exchange and the new message: nothing of the failed turn."""
    assert sent.context[:2] == [
        ("user", "alice (<@UALICE>): my favourite colour is green"),
        ("assistant", "Reply 1: alice (<@UALICE>): my favourite colour is green"),
    ]
    assert len(sent.context) == 3


@all_memory_modes
@pytest.mark.parametrize(
    ("status", "phrase"),
    [(500, phrases.UNAVAILABLE), (503, phrases.UNAVAILABLE), (429, phrases.BUSY)],
)
async def test_a_failing_model_gets_a_plain_note_and_the_next_message_continues_the_memory(
    start_bot, slack, model, status, phrase
):
    bot = await start_bot(openai_max_retries=1)
    thread = await _thread_with_one_answer(bot, slack)
    model.fail_next(count=2, status=status)  # the first try and the SDK's one retry

    await say(bot, slack, "C1", ALICE, "what is my favourite colour?", thread_ts=thread)

    answers = await slack.wait_for_bot_messages("C1", thread, 2)
    assert answers[-1]["text"] == phrase
    assert [r.status for r in model.requests[1:]] == [status, status]  # the SDK did retry
    assert "Traceback" not in answers[-1]["text"] and "Error" not in answers[-1]["text"]

    await say(bot, slack, "C1", ALICE, "and now?", thread_ts=thread)  # no mention needed

    answers = await slack.wait_for_bot_messages("C1", thread, 3)
    assert answers[-1]["text"].endswith("alice (<@UALICE>): and now?")
    assert_memory_as_before_the_failure(model.requests[-1])


@all_memory_modes
async def test_a_model_that_takes_too_long_gets_a_note_and_the_thread_goes_on(start_bot, slack, model):
    bot = await start_bot(openai_timeout_seconds=1.0, openai_max_retries=0)
    thread = await _thread_with_one_answer(bot, slack)
    model.hang_next(seconds=30)

    await say(bot, slack, "C1", ALICE, "think about this for a long time", thread_ts=thread)

    answers = await slack.wait_for_bot_messages("C1", thread, 2)
    assert answers[-1]["text"] == phrases.TOO_SLOW
    await say(bot, slack, "C1", ALICE, "quick one then", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 3)
    assert_memory_as_before_the_failure(model.requests[-1])


@all_memory_modes
async def test_an_unreachable_model_gets_a_note_and_answers_resume_when_it_is_back(start_bot, slack, model):
    bot = await start_bot(openai_max_retries=1)
    thread = await _thread_with_one_answer(bot, slack)
    await model.stop()  # nothing listens on its port any more: connections are refused

    await say(bot, slack, "C1", ALICE, "are you there?", thread_ts=thread)

    answers = await slack.wait_for_bot_messages("C1", thread, 2)
    assert answers[-1]["text"] == phrases.UNAVAILABLE
    await model.start(port=model.port)
    await say(bot, slack, "C1", ALICE, "and now?", thread_ts=thread)
    answers = await slack.wait_for_bot_messages("C1", thread, 3)
    assert answers[-1]["text"].endswith("alice (<@UALICE>): and now?")
    assert_memory_as_before_the_failure(model.requests[-1])


@all_memory_modes
async def test_when_the_first_question_of_a_thread_fails_a_follow_up_without_mention_is_answered(bot, slack, model):
    model.fail_next(count=3, status=500)
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> the code word is tangerine")
    [note] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert note["text"] == phrases.UNAVAILABLE

    await say(bot, slack, "C1", ALICE, "did you get that?", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert answers[-1]["text"].endswith("did you get that?")
    sent = model.requests[-1]
    assert sent.previous_response_id is None  # nothing to chain from: rebuilt from the thread
    assert sent.context == [
        ("user", "alice (<@UALICE>): the code word is tangerine"),  # the failure note is left out
        ("user", "alice (<@UALICE>): did you get that?"),
    ]


async def test_a_message_too_large_for_the_model_even_alone_is_explained_truthfully(bot, slack, model):
    model.fail_next(status=400, code="context_length_exceeded", message="Your input exceeds the context window.")

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> summarise everything ever written")

    [note] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert note["text"] == phrases.TOO_LARGE_EVEN_ALONE
