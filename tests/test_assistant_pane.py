"""Slack's AI assistant pane: a greeting with prompts; each chat one remembered conversation, titled by its start."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import ALICE
from harness import say

from bot.shared import phrases

DM = "D1"


def _thread_event(kind: str, thread_ts: str, viewing: str | None) -> dict[str, Any]:
    context = {"channel_id": viewing, "team_id": "T0001"} if viewing else {}
    return {
        "type": kind,
        "assistant_thread": {"user_id": ALICE, "channel_id": DM, "thread_ts": thread_ts, "context": context},
        "event_ts": thread_ts,
    }


async def _open_pane(bot, slack, *, viewing: str | None = None) -> str:
    """Alice opens the assistant pane: Slack starts a thread in her DM with the app and tells the bot."""
    root = slack.post_user_message(DM, ALICE, "New chat", subtype="assistant_app_thread")
    await bot.send_event(_thread_event("assistant_thread_started", root["ts"], viewing))
    return root["ts"]


async def test_opening_the_pane_greets_once_with_suggested_prompts(bot, slack, model):
    started = slack.post_user_message(DM, ALICE, "New chat", subtype="assistant_app_thread")
    event = _thread_event("assistant_thread_started", started["ts"], "C9")

    await bot.send_event(event)
    await bot.send_event(event, retry_num=1)  # Slack redelivers when unsure

    [greeting] = await slack.wait_for_bot_messages(DM, started["ts"], 1)
    assert greeting["text"] == phrases.ASSISTANT_GREETING
    await slack.wait_for(lambda: len(slack.suggested_prompts) > 0)
    [prompts] = slack.suggested_prompts
    assert prompts["thread_ts"] == started["ts"]
    assert [p["title"] for p in prompts["prompts"]] == [title for title, _ in phrases.ASSISTANT_PROMPTS]
    await asyncio.sleep(0.3)
    assert len(slack.bot_messages(DM, started["ts"])) == 1
    assert model.requests == []


async def test_a_question_in_the_pane_is_answered_in_its_chat_titled_and_remembered(bot, slack, model):
    thread = await _open_pane(bot, slack)

    await say(bot, slack, DM, ALICE, "what's the capital of France?", thread_ts=thread)
    answers = await slack.wait_for_bot_messages(DM, thread, 2)
    assert answers[1]["text"] == "Reply 1: alice (<@UALICE>): what's the capital of France?"
    assert slack.bot_messages(DM) == []  # nothing outside the chat
    first = model.requests[-1]
    assert first.input_texts == [("user", "alice (<@UALICE>): what's the capital of France?")]  # no greeting
    assert [t["title"] for t in slack.titles] == ["what's the capital of France?"]

    await say(bot, slack, DM, ALICE, "and of Italy?", thread_ts=thread)
    await slack.wait_for_bot_messages(DM, thread, 3)
    assert model.requests[-1].previous_response_id == first.response_id
    assert len(slack.titles) == 1  # the title stays the first question


async def test_each_chat_in_the_pane_is_its_own_conversation(bot, slack, model):
    first_chat = await _open_pane(bot, slack)
    await say(bot, slack, DM, ALICE, "remember: the code word is heron", thread_ts=first_chat)
    await slack.wait_for_bot_messages(DM, first_chat, 2)

    second_chat = await _open_pane(bot, slack)
    await say(bot, slack, DM, ALICE, "what is the code word?", thread_ts=second_chat)
    await slack.wait_for_bot_messages(DM, second_chat, 2)

    sent = model.requests[-1]
    assert sent.previous_response_id is None
    assert "heron" not in " ".join(text for _role, text in sent.context)


async def test_the_model_knows_which_channel_the_person_is_looking_at(bot, slack, model):
    thread = await _open_pane(bot, slack, viewing="C9")
    await slack.wait_for_bot_messages(DM, thread, 1)

    await bot.send_event(_thread_event("assistant_thread_context_changed", thread, "C7"))
    await say(bot, slack, DM, ALICE, "summarize what I'm looking at", thread_ts=thread)

    await slack.wait_for_bot_messages(DM, thread, 2)
    instructions = model.requests[-1].instructions
    assert "assistant pane" in instructions
    assert "<#C7>" in instructions and "<#C9>" not in instructions
    assert slack.calls_to("chat.update") == []  # context is kept by the bot, not written into Slack messages


async def test_saying_reset_in_a_chat_starts_it_fresh(bot, slack, model):
    thread = await _open_pane(bot, slack)
    await say(bot, slack, DM, ALICE, "my name is Alice", thread_ts=thread)
    await slack.wait_for_bot_messages(DM, thread, 2)

    await say(bot, slack, DM, ALICE, "reset", thread_ts=thread)
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    model.forget_all()
    await say(bot, slack, DM, ALICE, "what is my name?", thread_ts=thread)

    await slack.wait_for_bot_messages(DM, thread, 3)
    assert model.requests[-1].input_texts == [("user", "alice (<@UALICE>): what is my name?")]


async def test_opening_the_dm_of_an_agent_app_offers_prompts_without_a_message(bot, slack, model):
    opened = {"type": "app_home_opened", "user": ALICE, "channel": DM, "tab": "messages", "event_ts": "1.000001"}
    home = {**opened, "tab": "home"}

    assert (await bot.send_event(opened)).status == 200
    assert (await bot.send_event(home)).status == 200  # acknowledged, nothing to do

    await slack.wait_for(lambda: len(slack.suggested_prompts) > 0)
    await asyncio.sleep(0.2)
    [prompts] = slack.suggested_prompts
    assert prompts["channel_id"] == DM
    assert "thread_ts" not in prompts  # agent apps set prompts for the DM; a thread_ts is silently dropped
    assert [p["title"] for p in prompts["prompts"]] == [title for title, _ in phrases.ASSISTANT_PROMPTS]
    assert slack.bot_messages(DM) == []  # opening a DM is not a reason to post


async def test_in_the_agent_dm_the_model_knows_which_channel_the_person_has_open(bot, slack, model):
    # The agent messaging experience sends app_context_changed instead of assistant_thread_context_changed.
    entity = {"type": "slack#/types/channel_id", "value": "C7", "team_id": "T0001"}
    changed = {"type": "app_context_changed", "channel": DM, "user": ALICE, "event_ts": "1.000002"}
    assert (await bot.send_event({**changed, "context": {"entities": [entity]}})).status == 200

    await say(bot, slack, DM, ALICE, "summarize what I'm looking at")
    await slack.wait_for_bot_messages(DM, None, 1)
    assert "<#C7>" in model.requests[-1].instructions

    await bot.send_event({**changed, "context": {}, "event_ts": "1.000003"})  # now looking at no channel
    await viewing_noted(bot, "")  # Bolt runs the listener after the ack: let it land before the next message
    await say(bot, slack, DM, ALICE, "and now?")
    await slack.wait_for_bot_messages(DM, None, 2)
    assert "<#C7>" not in model.requests[-1].instructions


async def viewing_noted(bot, channel_id: str, timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait until the bot's Redis holds `channel_id` as the channel viewed beside the DM."""
    redis = bot.bot.guard.client
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        keys = [k async for k in redis.scan_iter(match=f"{bot.bot.settings.redis_prefix}*viewing*")]
        values = [await redis.get(k) for k in keys]
        if values and all(v == channel_id.encode() for v in values):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the viewed channel was not noted as {channel_id!r}")
