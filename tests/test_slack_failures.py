"""Slack rate-limits or stumbles now and then: answers still arrive once; an answer Slack refuses is not remembered."""

from __future__ import annotations

import logging

from conftest import ALICE
from harness import say

from bot.shared import phrases


async def test_a_rate_limited_answer_is_posted_after_slacks_retry_after(bot, slack, model):
    slack.rate_limit_next("chat.postMessage", retry_after=1)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=10)
    assert answer["text"] == "Reply 1: alice (<@UALICE>): hello"
    assert len(slack.calls_to("chat.postMessage")) == 2  # refused once, then posted


async def test_an_answer_is_posted_through_a_passing_slack_server_error(bot, slack, model):
    slack.server_error_next("chat.postMessage", status=503)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert answer["text"] == "Reply 1: alice (<@UALICE>): hello"


async def test_an_answer_slack_refuses_for_good_is_logged_and_not_remembered(bot, slack, model, caplog):
    caplog.set_level(logging.ERROR)
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> my name is Alice")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)
    remembered = model.requests[-1].response_id
    # More than the retries: slack_sdk's two, then the bot's one more try (and its two) for `service_unavailable`.
    slack.server_error_next("chat.postMessage", status=503, count=6)

    await say(bot, slack, "C1", ALICE, "what's my name?", thread_ts=thread)
    await slack.wait_for(lambda: any("Could not post the answer" in r.getMessage() for r in caplog.records), 20)

    [logged] = [r.getMessage() for r in caplog.records if "Could not post the answer" in r.getMessage()]
    assert f"T0001/C1/{thread}" in logged
    await say(bot, slack, "C1", ALICE, "hello again?", thread_ts=thread)
    answers = await slack.wait_for_bot_messages("C1", thread, 2)
    assert answers[-1]["text"].endswith("hello again?")
    assert model.requests[-1].previous_response_id == remembered  # the unseen answer is not part of the memory


async def test_when_slack_will_not_give_the_history_to_rebuild_the_thread_is_told_and_nothing_is_lost(
    bot, slack, model, caplog
):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> the code word is heron")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)
    model.forget_all()  # the next turn must rebuild from Slack
    slack.fail_next("conversations.replies", "internal_error")

    await say(bot, slack, "C1", ALICE, "what is the code word?", thread_ts=thread)

    notice = (await slack.wait_for_bot_messages("C1", thread, 2))[-1]
    assert notice["text"] == phrases.NO_HISTORY
    assert "conversations.replies: internal_error" in caplog.text

    await say(bot, slack, "C1", ALICE, "the code word, please?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 3)
    rebuilt = model.requests[-1]
    assert rebuilt.previous_response_id is None
    assert ("user", "alice (<@UALICE>): the code word is heron") in rebuilt.input_texts
    assert ("assistant", phrases.NO_HISTORY) not in rebuilt.input_texts  # notices are not the conversation


async def test_the_first_event_after_a_start_needs_no_second_auth_test(bot, slack, model):
    slack.fail_next("auth.test", "internal_error", count=3)  # Slack stumbles right after the deploy

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> first question after the deploy")

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert answer["text"] == "Reply 1: alice (<@UALICE>): first question after the deploy"
    assert len(slack.calls_to("auth.test")) == 1  # the one made at start-up
