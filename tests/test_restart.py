"""A restart (SIGTERM) finishes the answers under way, or says it could not; nothing is answered twice."""

from __future__ import annotations

import asyncio

from conftest import ALICE
from harness import say

from bot.shared import phrases
from bot.shared.conversation_key import ConversationKey
from bot.state.keys import Keys


async def test_an_answer_under_way_at_shutdown_is_finished_and_remembered(start_bot, slack, model):
    bot = await start_bot()
    model.hold_next()
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> remember 42")
    await slack.wait_for(lambda: model.waiting == 1)

    stopping = asyncio.create_task(bot.stop(drain_seconds=5))  # what SIGTERM does in `python -m bot`
    await slack.wait_for(lambda: bot.stopped)
    model.release()
    await stopping

    [answer] = slack.bot_messages("C1", question["ts"])
    assert answer["text"] == "Reply 1: alice (<@UALICE>): remember 42"
    restarted = await start_bot()
    await restarted.send_event(question, retry_num=1)  # Slack redelivers to the new process
    await say(restarted, slack, "C1", ALICE, "which number?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    await asyncio.sleep(0.3)
    assert len(slack.bot_messages("C1", question["ts"])) == 2  # the redelivered question was not answered again
    assert model.requests[-1].previous_response_id == model.requests[0].response_id


async def test_an_answer_that_cannot_finish_before_shutdown_is_abandoned_with_a_note(start_bot, slack, model):
    bot = await start_bot()
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> remember 42")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)
    remembered = model.requests[-1].response_id
    model.hold_next()  # and never released: the model is still thinking when time is up
    await say(bot, slack, "C1", ALICE, "now write me a novel", thread_ts=thread)
    await slack.wait_for(lambda: model.waiting == 1)

    await bot.stop(drain_seconds=0.2)

    answers = slack.bot_messages("C1", thread)
    assert [a["text"] for a in answers][1:] == [phrases.RESTARTING]
    restarted = await start_bot()
    await say(restarted, slack, "C1", ALICE, "which number?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 3)
    assert model.requests[-1].previous_response_id == remembered  # nothing of the abandoned turn was kept


async def test_a_message_still_waiting_its_turn_at_shutdown_is_told_too(start_bot, slack, model):
    bot = await start_bot()
    model.hold_next()  # the first answer is still being written when the host stops the bot
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> write me a long report")
    thread = question["ts"]
    await slack.wait_for(lambda: model.waiting == 1)
    follow_up = await say(bot, slack, "C1", ALICE, "and add a summary", thread_ts=thread)  # waits behind the first
    line = Keys(bot.bot.settings.redis_prefix, hash_tags=False).queue(ConversationKey(bot.team_id, "C1", thread))
    redis = bot.bot.guard.client
    for _ in range(500):  # its turn has begun: it has a place in the conversation's line in Redis
        if await redis.zscore(line, follow_up["ts"]) is not None:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the follow-up never took its place in line")

    await bot.stop(drain_seconds=0.2)

    assert [a["text"] for a in slack.bot_messages("C1", thread)] == [phrases.RESTARTING, phrases.RESTARTING]
    assert len(model.requests) == 1  # the follow-up never reached the model
