"""Someone mentions the bot in a channel; it answers in a thread, and follows that thread from then on."""

from __future__ import annotations

import asyncio

from conftest import ALICE, BOB, all_memory_modes
from harness import say


async def test_mention_is_answered_in_a_thread_under_the_message(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what is the capital of France?")

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    assert answer["thread_ts"] == question["ts"]
    assert answer["text"] == "Reply 1: alice (<@UALICE>): what is the capital of France?"
    assert slack.bot_messages("C1") == []  # nothing at the channel's top level
    sent = model.requests[-1]
    assert sent.previous_response_id is None
    assert sent.input_texts == [("user", "alice (<@UALICE>): what is the capital of France?")]


async def test_follow_up_without_mention_sends_only_the_new_message_chained(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> my name is Alice")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    first_response = model.requests[-1].response_id

    await say(bot, slack, "C1", ALICE, "what is my name?", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert answers[1]["text"] == "Reply 2: alice (<@UALICE>): what is my name?"
    sent = model.requests[-1]
    assert sent.previous_response_id == first_response
    assert sent.input_texts == [("user", "alice (<@UALICE>): what is my name?")]
    assert ("user", "alice (<@UALICE>): my name is Alice") in sent.context  # the chain carries the rest


@all_memory_modes
async def test_a_follow_up_is_answered_knowing_the_whole_thread_without_reading_slack(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> my name is Alice")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)

    await say(bot, slack, "C1", BOB, "what is her name?", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert answers[1]["text"] == "Reply 2: bob (<@UBOB>): what is her name?"
    assert model.requests[-1].context == [
        ("user", "alice (<@UALICE>): my name is Alice"),
        ("assistant", "Reply 1: alice (<@UALICE>): my name is Alice"),
        ("user", "bob (<@UBOB>): what is her name?"),
    ]
    assert slack.calls_to("conversations.replies") == []


async def test_each_message_names_its_author_and_who_it_mentions_and_the_instructions_say_where(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hi, ask <@UBOB> too")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await say(bot, slack, "C1", BOB, "hello from bob", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2)

    first, second = model.requests
    assert first.input_texts == [("user", "alice (<@UALICE>): hi, ask @bob too (bob is <@UBOB>)")]
    assert second.input_texts == [("user", "bob (<@UBOB>): hello from bob")]
    assert "<#C1>" in first.instructions
    assert first.instructions == second.instructions  # who speaks is in the message, not the instructions


async def test_threads_the_bot_is_not_part_of_are_left_alone(bot, slack, model):
    root = slack.post_user_message("C1", ALICE, "lunch?")
    reply = slack.post_user_message("C1", BOB, "sure", thread_ts=root["ts"])
    top_level = slack.post_user_message("C1", BOB, "anyone around?")

    for event in (root, reply, top_level):
        await bot.send_event(event)
    await asyncio.sleep(0.3)

    assert slack.bot_messages("C1", root["ts"]) == []
    assert slack.bot_messages("C1") == []
    assert model.requests == []


@all_memory_modes
async def test_pulled_into_an_existing_thread_reads_it_first(bot, slack, model):
    root = slack.post_user_message("C1", BOB, "the deploy failed with error 42")
    slack.post_user_message("C1", ALICE, "I saw it too, on staging", thread_ts=root["ts"])

    await say(bot, slack, "C1", ALICE, "<@UBOT> any idea what error 42 is?", thread_ts=root["ts"])

    await slack.wait_for_bot_messages("C1", root["ts"], 1)
    sent = model.requests[-1]
    assert sent.previous_response_id is None
    assert sent.context == [
        ("user", "bob (<@UBOB>): the deploy failed with error 42\n\nalice (<@UALICE>): I saw it too, on staging"),
        ("user", "alice (<@UALICE>): any idea what error 42 is?"),
    ]


async def test_the_bot_ignores_its_own_messages_other_bots_and_edits(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    thread = question["ts"]

    own = slack.post_user_message("C1", "UBOT", "an answer", thread_ts=thread, bot_id="BBOT")
    other_bot = slack.post_user_message("C1", "UOTHERBOT", "beep", thread_ts=thread, bot_id="BOTHER")
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C1",
        "hidden": True,
        "ts": "1790000000.000001",
        "message": {"type": "message", "user": ALICE, "text": "hello!!", "ts": thread},
    }
    joined = slack.post_user_message("C1", BOB, "<@UBOB> has joined", thread_ts=thread, subtype="channel_join")
    for event in (own, other_bot, edit, joined):
        await bot.send_event(event)
    await asyncio.sleep(0.3)

    assert len(slack.bot_messages("C1", thread)) == 1 + 1  # the first answer and the posted `own` above
    assert len(model.requests) == 1


async def test_a_follow_up_sent_while_the_first_answer_is_being_written_is_answered_too(bot, slack, model):
    model.latency = 0.5  # the first answer takes a moment
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> plan the offsite")
    await asyncio.sleep(0.1)
    await say(bot, slack, "C1", BOB, "and book a room", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert [a["text"] for a in answers] == [
        "Reply 1: alice (<@UALICE>): plan the offsite",
        "Reply 2: bob (<@UBOB>): and book a room",
    ]
    assert model.requests[-1].previous_response_id == model.requests[0].response_id


async def test_deletions_topic_changes_and_other_notices_in_its_thread_are_not_answered(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": "C1",
        "ts": "1790000000.000002",
        "deleted_ts": thread,
        "previous_message": {"type": "message", "user": ALICE, "text": "<@UBOT> hello", "ts": thread},
    }
    topic = slack.post_user_message("C1", ALICE, "<@UBOT> set the topic", thread_ts=thread, subtype="channel_topic")
    pinned = slack.post_user_message("C1", BOB, "pinned a message", thread_ts=thread, subtype="pinned_item")
    for event in (deleted, topic, pinned):
        await bot.send_event(event)
    await asyncio.sleep(0.3)

    assert len(slack.bot_messages("C1", thread)) == 1
    assert len(model.requests) == 1


async def test_a_reply_also_sent_to_the_channel_is_answered_once_in_its_thread(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C1", thread, 1)

    # "Also send to #channel": one message event with the thread_broadcast subtype, plus its app_mention.
    broadcast = slack.post_user_message(
        "C1", BOB, "<@UBOT> what did Alice say?", thread_ts=thread, subtype="thread_broadcast"
    )
    await bot.send_event(broadcast)
    await bot.mention(broadcast)
    answers = await slack.wait_for_bot_messages("C1", thread, 2)
    # Slack then reports the thread's root as changed (its reply count): not a new message either.
    changed = {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": "C1",
        "ts": "1790000000.000003",
        "message": {**broadcast, "reply_count": 2},
    }
    await bot.send_event(changed)
    await asyncio.sleep(0.3)

    assert len(slack.bot_messages("C1", thread)) == 2
    assert answers[-1]["thread_ts"] == thread and answers[-1]["text"].endswith("what did Alice say?")
    assert [m for m in slack.bot_messages("C1") if m.get("thread_ts") != thread] == []  # nothing at top level
    assert model.requests[-1].previous_response_id == model.requests[0].response_id


async def test_only_bots_allowed_by_the_admin_are_answered(start_bot, slack, model):
    bot = await start_bot(allowed_bot_ids=frozenset({"BFRIEND"}))
    friend = slack.post_user_message("C1", "UFRIEND", "<@UBOT> status report please", bot_id="BFRIEND")
    stranger = slack.post_user_message("C1", "USTRANGER", "<@UBOT> me too", bot_id="BSTRANGER")

    for event in (friend, stranger):
        await bot.send_event(event)
        await bot.mention(event)

    [answer] = await slack.wait_for_bot_messages("C1", friend["ts"], 1)
    assert answer["text"].endswith("status report please")
    await asyncio.sleep(0.3)
    assert slack.bot_messages("C1", stranger["ts"]) == []
    assert len(model.requests) == 1
