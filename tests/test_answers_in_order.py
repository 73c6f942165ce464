"""A burst of follow-ups gets one answer each, in the order they were written; other threads don't wait."""

from __future__ import annotations

from conftest import ALICE, BOB, all_memory_modes
from harness import say


def answered_question(answer: dict) -> str:
    """The fake model answers "Reply N: <the question>": which question an answer is for."""
    return answer["text"].split(": ", 1)[1]


@all_memory_modes
async def test_a_burst_of_follow_ups_is_answered_one_by_one_in_order(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> let's plan a trip")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)

    model.hold_next()  # the first follow-up's answer takes a while; the others pile up behind it
    follow_ups = [f"idea {n}" for n in range(1, 6)]
    await say(bot, slack, "C1", ALICE, follow_ups[0], thread_ts=thread)
    await slack.wait_for(lambda: model.waiting == 1)
    for text in follow_ups[1:]:
        await say(bot, slack, "C1", BOB if text.endswith(("2", "4")) else ALICE, text, thread_ts=thread)
    model.release()

    answers = await slack.wait_for_bot_messages("C1", thread, 1 + len(follow_ups))
    assert len(answers) == 6
    assert [answered_question(a).split(": ")[-1] for a in answers[1:]] == follow_ups
    # Each turn saw every turn before it: one unforked conversation.
    for n, sent in enumerate(model.requests):
        said = [text.split(": ", 1)[1] for role, text in sent.context if role == "user"]
        assert said == ["let's plan a trip", *follow_ups][: n + 1]


async def test_a_slow_answer_in_one_thread_does_not_hold_up_another_thread(bot, slack, model):
    model.hold_next()
    slow = await say(bot, slack, "C1", ALICE, "<@UBOT> a question that takes ages")
    await slack.wait_for(lambda: model.waiting == 1)

    quick = await say(bot, slack, "C1", BOB, "<@UBOT> a quick one")
    [quick_answer] = await slack.wait_for_bot_messages("C1", quick["ts"], 1)

    assert quick_answer["text"].endswith("bob (<@UBOB>): a quick one")
    assert slack.bot_messages("C1", slow["ts"]) == []  # still thinking over there
    model.release()
    [slow_answer] = await slack.wait_for_bot_messages("C1", slow["ts"], 1)
    assert slow_answer["text"].endswith("a question that takes ages")


async def test_dm_messages_sent_in_quick_succession_are_answered_in_order(bot, slack, model):
    model.hold_next()
    await say(bot, slack, "D1", ALICE, "first")
    await slack.wait_for(lambda: model.waiting == 1)
    await say(bot, slack, "D1", ALICE, "second")
    await say(bot, slack, "D1", ALICE, "third")
    model.release()

    answers = await slack.wait_for_bot_messages("D1", None, 3)
    assert [a["text"].rsplit(": ", 1)[1] for a in answers] == ["first", "second", "third"]
    assert model.requests[2].previous_response_id == model.requests[1].response_id
    assert model.requests[1].previous_response_id == model.requests[0].response_id
