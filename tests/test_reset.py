"""`/reset`, `@bot reset` and the "Reset this thread" shortcut make the bot forget, for good."""

from __future__ import annotations

from conftest import ALICE, BOB, all_memory_modes
from harness import say

pytestmark = all_memory_modes


async def _thread_with_one_answer(bot, slack, channel="C1", text="<@UBOT> the secret word is banana"):
    question = await say(bot, slack, channel, ALICE, text)
    await slack.wait_for_bot_messages(channel, question["ts"], 1)
    return question["ts"]


def _texts(request) -> str:
    return " ".join(text for _role, text in request.context)


async def test_slash_reset_in_a_channel_forgets_every_thread_there_even_through_a_rebuild(bot, slack, model):
    first = await _thread_with_one_answer(bot, slack)
    second = await _thread_with_one_answer(bot, slack, text="<@UBOT> the colour is teal")
    other_channel = await _thread_with_one_answer(bot, slack, channel="C2", text="<@UBOT> C2 remembers plums")

    response = await bot.command("/reset", channel_id="C1", user_id=ALICE, response_url=slack.response_url())
    assert response.status == 200
    assert "forgotten every thread in this channel" in response.text

    model.forget_all()  # the chains are gone too: only Slack history is left to rebuild from
    await say(bot, slack, "C1", ALICE, "what was the secret word?", thread_ts=first)
    await slack.wait_for_bot_messages("C1", first, 2)
    assert model.requests[-1].previous_response_id is None
    assert "banana" not in _texts(model.requests[-1])

    await say(bot, slack, "C1", BOB, "and the colour?", thread_ts=second)
    await slack.wait_for_bot_messages("C1", second, 2)
    assert "teal" not in _texts(model.requests[-1])

    await say(bot, slack, "C2", ALICE, "which fruit?", thread_ts=other_channel)
    await slack.wait_for_bot_messages("C2", other_channel, 2)
    assert "plums" in _texts(model.requests[-1])  # /reset only clears where it was typed


async def test_saying_reset_in_a_thread_forgets_that_thread_only(bot, slack, model):
    thread = await _thread_with_one_answer(bot, slack)
    other = await _thread_with_one_answer(bot, slack, text="<@UBOT> keep this: kiwi")

    await say(bot, slack, "C1", ALICE, "<@UBOT> reset", thread_ts=thread)
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    assert slack.ephemerals[0]["text"].startswith("Done: I've forgotten this thread")
    assert slack.ephemerals[0]["user"] == ALICE

    model.forget_all()
    await say(bot, slack, "C1", ALICE, "what was the secret word?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 2)
    sent = model.requests[-1]
    assert sent.context == [("user", "alice (<@UALICE>): what was the secret word?")]

    await say(bot, slack, "C1", ALICE, "what to keep?", thread_ts=other)
    await slack.wait_for_bot_messages("C1", other, 2)
    assert "kiwi" in _texts(model.requests[-1])


async def test_reset_shortcut_forgets_the_thread_of_the_chosen_message(bot, slack, model):
    thread = await _thread_with_one_answer(bot, slack)
    chosen = slack.messages("C1", thread)[-1]

    response = await bot.shortcut(
        "reset_thread", channel_id="C1", user_id=BOB, message=chosen, response_url=slack.response_url()
    )
    assert response.status == 200
    await slack.wait_for(lambda: any("forgotten this thread" in e.get("text", "") for e in slack.ephemerals))
    note = slack.bot_messages("C1", thread)[-1]
    assert note["text"] == "<@UBOB> cleared my memory of this thread. I'll start fresh from here."

    await say(bot, slack, "C1", ALICE, "what was the secret word?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 3)
    sent = model.requests[-1]
    assert sent.previous_response_id is None
    assert sent.context == [("user", "alice (<@UALICE>): what was the secret word?")]


async def test_slash_reset_in_a_dm_forgets_the_running_conversation_and_its_threads(bot, slack, model):
    await say(bot, slack, "D1", ALICE, "my locker is 113")
    await slack.wait_for_bot_messages("D1", None, 1)
    root = await say(bot, slack, "D1", ALICE, "thread topic: my bike is red")
    await slack.wait_for_bot_messages("D1", None, 2)
    await say(bot, slack, "D1", ALICE, "noted?", thread_ts=root["ts"])
    await slack.wait_for_bot_messages("D1", root["ts"], 1)

    response = await bot.command("/reset", channel_id="D1", user_id=ALICE, response_url=slack.response_url())
    assert "including every thread in this DM" in response.text

    await say(bot, slack, "D1", ALICE, "what is my locker?")
    await slack.wait_for_bot_messages("D1", None, 3)
    assert model.requests[-1].context == [("user", "alice (<@UALICE>): what is my locker?")]
    assert model.requests[-1].previous_response_id is None

    await say(bot, slack, "D1", ALICE, "what colour is my bike?", thread_ts=root["ts"])
    await slack.wait_for_bot_messages("D1", root["ts"], 2)
    assert "red" not in _texts(model.requests[-1])
