"""In a DM people just talk: top-level messages are one running conversation; a DM thread is its own."""

from __future__ import annotations

from conftest import ALICE, all_memory_modes
from harness import say

DM = "D1"


async def test_dm_messages_are_answered_at_top_level_as_one_running_conversation(bot, slack, model):
    await say(bot, slack, DM, ALICE, "remember the number 7")
    await slack.wait_for_bot_messages(DM, None, 1)
    first_response = model.requests[-1].response_id

    await say(bot, slack, DM, ALICE, "what number?")

    answers = await slack.wait_for_bot_messages(DM, None, 2)
    assert [a.get("thread_ts") for a in answers] == [None, None]
    assert answers[1]["text"] == "Reply 2: alice (<@UALICE>): what number?"
    sent = model.requests[-1]
    assert sent.previous_response_id == first_response
    assert sent.input_texts == [("user", "alice (<@UALICE>): what number?")]
    assert "a direct message" in sent.instructions


@all_memory_modes
async def test_a_reply_in_a_dm_thread_is_that_threads_own_conversation(bot, slack, model):
    await say(bot, slack, DM, ALICE, "top-level chat")
    await slack.wait_for_bot_messages(DM, None, 1)
    root = slack.post_user_message(DM, ALICE, "a topic of its own")
    await bot.send_event(root)
    await slack.wait_for_bot_messages(DM, None, 2)

    await say(bot, slack, DM, ALICE, "more on this topic", thread_ts=root["ts"])

    [in_thread] = [m for m in await slack.wait_for_bot_messages(DM, root["ts"], 1) if m["ts"] != root["ts"]]
    assert in_thread["thread_ts"] == root["ts"]
    sent = model.requests[-1]
    assert sent.previous_response_id is None  # a new conversation, read from the thread
    assert sent.context == [
        ("user", "alice (<@UALICE>): a topic of its own"),
        ("user", "alice (<@UALICE>): more on this topic"),
    ]


@all_memory_modes
async def test_first_dm_after_memory_loss_is_rebuilt_from_dm_history(bot, slack, model):
    slack.post_user_message(DM, ALICE, "I prefer tea")
    slack.post_user_message(DM, "UBOT", "Noted: tea.", bot_id="BBOT")

    await say(bot, slack, DM, ALICE, "what do I prefer?")

    await slack.wait_for_bot_messages(DM, None, 2)
    assert model.requests[-1].context == [
        ("user", "alice (<@UALICE>): I prefer tea"),
        ("assistant", "Noted: tea."),
        ("user", "alice (<@UALICE>): what do I prefer?"),
    ]
