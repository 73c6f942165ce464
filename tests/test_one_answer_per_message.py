"""Slack delivers events at least once, sometimes twice over; people still see one answer per message."""

from __future__ import annotations

import asyncio
import logging
import time

from conftest import ALICE
from harness import BotUnderTest, RedisServer, say

STALL_SECONDS = 1.5  # the event loop busy elsewhere: longer than Redis is given to answer (0.5 s)


async def _until_requests_reach(redis_server: RedisServer, requests: int) -> None:
    """Until `requests` requests reached Redis (frozen meanwhile), unread."""
    deadline = time.monotonic() + 30
    while redis_server.unread_requests() < requests:
        assert time.monotonic() < deadline, "the requests never reached Redis"
        await asyncio.sleep(0.01)


async def _until_redis_is(bot: BotUnderTest, *, up: bool) -> None:
    deadline = time.monotonic() + 30
    while (await bot.health())["redis"] is not up:
        assert time.monotonic() < deadline, f"/healthz never said redis={up}"
        await asyncio.sleep(0.05)


async def _stall_the_event_loop_while_redis_answers(redis_server: RedisServer, requests: int) -> None:
    """Redis answers while the bot's event loop is stalled, as on a saturated machine: the answers are
    there, unread, when the loop comes back, by then later than Redis is given to answer."""
    await _until_requests_reach(redis_server, requests)
    redis_server.thaw()
    time.sleep(STALL_SECONDS)  # noqa: ASYNC251 - the point: a callback that blocks the bot's loop


async def test_slacks_retries_of_a_mention_get_one_answer(bot, slack, model):
    question = slack.post_user_message("C1", ALICE, "<@UBOT> what is 2 + 2?")

    # Slack retries an event it thinks was not delivered, with the same event_id and a retry number.
    await bot.send_event(question, event_id="EvSAME")
    for attempt in (1, 2, 3):
        answer = await bot.send_event(question, event_id="EvSAME", retry_num=attempt)
        assert answer.status == 200  # acknowledged, so Slack stops retrying
    await bot.mention(question)  # and the app_mention twin of the same message

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await asyncio.sleep(0.3)  # room for a wrong second answer to show up
    assert len(slack.bot_messages("C1", question["ts"])) == 1
    assert len(model.requests) == 1


async def test_a_mention_and_its_message_event_arriving_at_once_get_one_answer(bot, slack, model):
    question = slack.post_user_message("C1", ALICE, "<@UBOT> hello there")

    await asyncio.gather(bot.send_event(question), bot.mention(question), bot.send_event(question, retry_num=1))

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await asyncio.sleep(0.3)
    assert len(slack.bot_messages("C1", question["ts"])) == 1
    assert len(model.requests) == 1


async def test_a_retry_delivered_to_another_bot_process_is_not_answered_again(start_bot, slack, model):
    first, second = await start_bot(), await start_bot()
    question = slack.post_user_message("C1", ALICE, "<@UBOT> which process answers?")

    await first.send_event(question, event_id="EvONE")
    await second.mention(question)
    await second.send_event(question, event_id="EvONE", retry_num=1)

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await asyncio.sleep(0.3)
    assert len(slack.bot_messages("C1", question["ts"])) == 1
    assert len(model.requests) == 1


async def test_while_redis_is_down_one_process_still_answers_each_message_once(start_bot, slack, model, redis_server):
    bot = await start_bot(redis_url=redis_server.url)
    redis_server.stop()
    question = slack.post_user_message("C1", ALICE, "<@UBOT> are you there?")

    await bot.send_event(question, event_id="EvDOWN")
    await bot.mention(question)
    await bot.send_event(question, event_id="EvDOWN", retry_num=1)

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await asyncio.sleep(0.3)
    assert len(slack.bot_messages("C1", question["ts"])) == 1
    assert len(model.requests) == 1


async def test_a_stalled_event_loop_is_not_taken_for_a_redis_outage_by_two_processes(
    start_bot, slack, model, redis_server, caplog
):
    caplog.set_level(logging.WARNING)
    first, second = await start_bot(redis_url=redis_server.url), await start_bot(redis_url=redis_server.url)
    question = slack.post_user_message("C1", ALICE, "<@UBOT> one answer, please")

    redis_server.freeze()
    await first.send_event(question)
    await second.mention(question)  # its twin, delivered to the other process
    await _stall_the_event_loop_while_redis_answers(redis_server, requests=2)

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await first.settled()
    await second.settled()
    assert len(slack.bot_messages("C1", question["ts"])) == 1
    assert len(model.requests) == 1
    assert not [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]


async def test_a_message_whose_claim_timed_out_while_redis_stalled_is_answered_once_by_two_processes(
    start_bot, slack, model, redis_server
):
    first, second = await start_bot(redis_url=redis_server.url), await start_bot(redis_url=redis_server.url)
    question = slack.post_user_message("C1", ALICE, "<@UBOT> one answer, please")

    redis_server.freeze()  # Redis itself stalls: a long fork, a failover
    await first.send_event(question)
    await second.mention(question)  # its twin, delivered to the other process
    await _until_requests_reach(redis_server, 2)
    for bot in (first, second):
        await _until_redis_is(bot, up=False)  # each gave up waiting, not knowing whether its claim was made
    redis_server.thaw()  # and Redis, back, runs both claims: one wins

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await first.settled()
    await second.settled()
    assert len(slack.bot_messages("C1", question["ts"])) == 1
    assert len(model.requests) == 1


async def test_follow_ups_during_a_stalled_event_loop_are_still_chained(start_bot, slack, model, redis_server, caplog):
    caplog.set_level(logging.WARNING)
    bot = await start_bot(redis_url=redis_server.url)
    threads = []
    for channel in ("C1", "C2"):
        question = await say(bot, slack, channel, ALICE, f"<@UBOT> the word in {channel} is {channel.lower()}")
        await slack.wait_for_bot_messages(channel, question["ts"], 1)
        threads.append((channel, question["ts"], model.requests[-1].response_id))
    await bot.settled()

    redis_server.freeze()
    for channel, thread, _ in threads:
        await say(bot, slack, channel, ALICE, "which word?", thread_ts=thread)
    await _stall_the_event_loop_while_redis_answers(redis_server, requests=2)

    for channel, thread, _ in threads:
        await slack.wait_for_bot_messages(channel, thread, 2)
    follow_ups = [r for r in model.requests if r.last_user_text.endswith("which word?")]
    # Each continued its own thread's memory; a turn taken for one during an outage would be rebuilt instead.
    assert sorted(str(r.previous_response_id) for r in follow_ups) == sorted(answered for *_, answered in threads)
    assert not [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]


async def test_slack_gets_its_answer_while_the_model_is_still_thinking(bot, slack, model):
    model.hold_next()  # the model takes as long as the test wants
    question = slack.post_user_message("C1", ALICE, "<@UBOT> think hard about this")

    delivered = await bot.send_event(question)
    await slack.wait_for(lambda: model.waiting == 1)
    mention_delivered = await bot.mention(question)  # Slack's next request is not held up either

    assert delivered.status == 200 and mention_delivered.status == 200
    assert slack.bot_messages("C1", question["ts"]) == []  # acknowledged before any answer existed
    model.release()
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert answer["text"] == "Reply 1: alice (<@UALICE>): think hard about this"


async def test_a_slash_command_is_answered_while_a_turn_is_in_progress(bot, slack, model):
    model.hold_next()
    await say(bot, slack, "C1", ALICE, "<@UBOT> slow question")
    await slack.wait_for(lambda: model.waiting == 1)

    response = await bot.command("/reset", channel_id="C2", user_id=ALICE, response_url=slack.response_url())

    assert response.status == 200 and "forgotten every thread" in response.text
    model.release()
