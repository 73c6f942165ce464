"""Redis loses its data (a restart without persistence, an eviction): people in the bot's threads never notice."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from conftest import ALICE, BOB, all_memory_modes
from harness import BotUnderTest, say


async def forget_everything(bot: BotUnderTest, redis_url: str) -> None:
    """What a Redis restarted without persistence holds for this bot: nothing."""
    client = aioredis.Redis.from_url(redis_url)
    async for key in client.scan_iter(f"{bot.bot.settings.redis_prefix}:*"):
        await client.delete(key)
    await client.aclose()


@all_memory_modes
async def test_a_follow_up_in_a_thread_redis_forgot_is_answered_from_slack_history(bot, slack, model, redis_url):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> my locker is 113")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)
    await bot.settled()
    await forget_everything(bot, redis_url)

    await say(bot, slack, "C1", ALICE, "what is my locker?", thread_ts=thread)  # no mention

    await slack.wait_for_bot_messages("C1", thread, 2)
    rebuilt = model.requests[-1]
    assert rebuilt.previous_response_id is None
    assert ("user", "alice (<@UALICE>): my locker is 113") in rebuilt.context
    await say(bot, slack, "C1", ALICE, "thanks", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 3)
    assert ("user", "alice (<@UALICE>): my locker is 113") in model.requests[-1].context  # remembered again
    assert len(slack.calls_to("conversations.replies")) == 1  # Slack was asked once


async def test_other_peoples_threads_stay_unanswered_and_slack_is_asked_once_at_most(bot, slack, model, redis_url):
    older = slack.post_user_message("C1", BOB, "lunch?")
    await forget_everything(bot, redis_url)

    for text in ("sure", "where?"):  # replies in a thread from before Redis lost its data
        await bot.send_event(slack.post_user_message("C1", ALICE, text, thread_ts=older["ts"]))
        await asyncio.sleep(0.2)
    newer = slack.post_user_message("C1", BOB, "coffee?")
    await bot.send_event(slack.post_user_message("C1", ALICE, "yes", thread_ts=newer["ts"]))
    await asyncio.sleep(0.3)
    await bot.settled()

    assert slack.bot_messages("C1", older["ts"]) == slack.bot_messages("C1", newer["ts"]) == []
    assert model.requests == []
    assert [c.args["ts"] for c in slack.calls_to("conversations.replies")] == [older["ts"]]  # once, then remembered
