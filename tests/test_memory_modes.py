"""MEMORY_MODE: the same Slack behaviour with memory at OpenAI (responses, conversations) or only in Redis (local).

The stories every mode shares run parametrised in the other test files; these are what one mode does
differently: where the memory lives, what is sent, and what a reset deletes.
"""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from conftest import ALICE, BOB
from harness import BotUnderTest, say, thread_with
from test_shared_files import png, screenshot, share

from bot.model.memory.local import VISUAL_DROPPED


async def _thread(bot: BotUnderTest, slack, lines: list[str], channel: str = "C1") -> str:
    """Alice's thread of `lines`, each answered, and everything remembered."""
    thread = await thread_with(bot, slack, ALICE, lines, channel=channel)
    await bot.settled()
    return thread


async def _transcript_keys(bot: BotUnderTest, redis_url: str) -> dict[str, int]:
    """The transcript keys of this bot in Redis, with their sizes in bytes."""
    client = aioredis.Redis.from_url(redis_url)
    prefix = bot.bot.settings.redis_prefix
    keys = {k.decode(): await client.memory_usage(k) or 0 async for k in client.scan_iter(f"{prefix}:*:transcript:*")}
    await client.aclose()
    return keys


# Local memory ---------------------------------------------------------------------------------------


async def test_local_mode_stores_nothing_at_the_model_provider_and_remembers_across_a_restart(start_bot, slack, model):
    first = await start_bot(memory_mode="local")
    thread = await _thread(first, slack, ["my locker is 113", "and my bike is red"])
    await first.stop()

    second = await start_bot(memory_mode="local")
    await say(second, slack, "C1", BOB, "what is her locker?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 3)

    assert [(r.store, r.previous_response_id, r.conversation) for r in model.requests] == [(False, None, None)] * 3
    assert all(not r.body.get("store", True) for r in model.requests)  # said explicitly, not left to a default
    assert model.responses == {} and model.conversations.stored == {}
    assert model.requests[-1].context == [
        ("user", "alice (<@UALICE>): my locker is 113"),
        ("assistant", "Reply 1: alice (<@UALICE>): my locker is 113"),
        ("user", "alice (<@UALICE>): and my bike is red"),
        ("assistant", "Reply 2: alice (<@UALICE>): and my bike is red"),
        ("user", "bob (<@UBOB>): what is her locker?"),
    ]
    assert slack.calls_to("conversations.replies") == []  # from the transcript in Redis, not from Slack


async def test_local_mode_carries_the_models_reasoning_as_encrypted_content(start_bot, slack, model):
    model.reasoning = True  # a reasoning model: each answer starts with a reasoning item
    bot = await start_bot(memory_mode="local")
    await _thread(bot, slack, ["think about 42", "and now about 43"])

    first, second = model.requests
    assert first.include == ["reasoning.encrypted_content"]
    [carried] = [item for item in second.input_items if item.get("type") == "reasoning"]
    assert carried["encrypted_content"].startswith("gAAAA")  # what the first answer returned, sent back
    answer = second.input_items[second.input_items.index(carried) + 1]
    assert answer["role"] == "assistant" and answer["id"].startswith("msg_")  # still paired with its reasoning
    assert second.status == 200  # the fake refuses reasoning items without it when store is false


async def test_local_transcript_stays_within_the_budget_keeping_the_root(start_bot, slack, model, redis_url):
    model.default_reply = lambda rec: "x" * 200
    bot = await start_bot(memory_mode="local", history_budget_chars=1_000)
    lines = ["ROOT: the project is called Zephyr", *[f"follow-up number {n:02d}" for n in range(1, 12)]]
    thread = await _thread(bot, slack, lines)
    sizes = [r.raw_bytes for r in model.requests]

    last = model.requests[-1]
    assert last.context[0] == ("user", "alice (<@UALICE>): ROOT: the project is called Zephyr")
    assert "earlier messages of this conversation are not shown" in last.context[1][1]
    assert last.context[-1] == ("user", "alice (<@UALICE>): follow-up number 11")
    assert sum(len(text) for _role, text in last.context) <= 1_000 + 200
    assert max(sizes[-4:]) - min(sizes[-4:]) < 200  # flat once the budget is reached
    [transcript_size] = [size for key, size in (await _transcript_keys(bot, redis_url)).items() if "messages" in key]
    assert transcript_size < 4_000
    assert slack.calls_to("conversations.replies") == []
    assert thread


async def test_local_transcript_that_is_gone_is_rebuilt_from_slack(start_bot, slack, model, redis_url):
    bot = await start_bot(memory_mode="local")
    thread = await _thread(bot, slack, ["my locker is 113"])
    client = aioredis.Redis.from_url(redis_url)
    for key in await _transcript_keys(bot, redis_url):
        await client.delete(key)  # evicted, say; the thread's state still says a transcript exists
    await client.aclose()

    await say(bot, slack, "C1", ALICE, "what is my locker?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 2)

    assert ("user", "alice (<@UALICE>): my locker is 113") in model.requests[-1].context
    assert len(slack.calls_to("conversations.replies")) == 1


async def test_a_reset_clears_the_local_transcript(start_bot, slack, model, redis_url):
    bot = await start_bot(memory_mode="local")
    thread = await _thread(bot, slack, ["the secret word is banana"])
    assert await _transcript_keys(bot, redis_url)

    await say(bot, slack, "C1", ALICE, "<@UBOT> reset", thread_ts=thread)
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)

    assert await _transcript_keys(bot, redis_url) == {}


async def test_local_mode_uploads_no_file_and_its_transcript_keeps_only_the_newest_images(start_bot, slack, model):
    bot = await start_bot(memory_mode="local", file_inline_max_bytes=50, history_max_images=1)
    first = await share(bot, slack, "C1", ALICE, "<@UBOT> before", [screenshot(slack, "before")])
    await slack.wait_for_bot_messages("C1", first["ts"], 1)
    await share(bot, slack, "C1", ALICE, "after", [screenshot(slack, "after")], thread_ts=first["ts"])
    await slack.wait_for_bot_messages("C1", first["ts"], 2)

    await say(bot, slack, "C1", ALICE, "which one is better?", thread_ts=first["ts"])
    await slack.wait_for_bot_messages("C1", first["ts"], 3)

    assert model.files.uploads == {}  # nothing stored at OpenAI, files included
    assert model.last_request.files_sent == [slack.files.hash_of(png("after"))]  # from the transcript
    assert VISUAL_DROPPED in " ".join(text for _role, text in model.last_request.context)


async def test_local_mode_runs_on_chat_completions_for_other_model_servers(start_bot, slack, model):
    bot = await start_bot(memory_mode="local", openai_api="chat_completions")
    thread = await _thread(bot, slack, ["my name is Alice", "what is my name?"])

    answers = slack.bot_messages("C1", thread)
    assert [a["text"] for a in answers] == [
        "Reply 1: alice (<@UALICE>): my name is Alice",
        "Reply 2: alice (<@UALICE>): what is my name?",
    ]
    assert {r.endpoint for r in model.requests} == {"chat.completions"}
    assert all(r.stream and r.body.get("store") is False for r in model.requests)
    assert model.requests[-1].context == [
        ("user", "alice (<@UALICE>): my name is Alice"),
        ("assistant", "Reply 1: alice (<@UALICE>): my name is Alice"),
        ("user", "alice (<@UALICE>): what is my name?"),
    ]
    assert "a thread in the channel <#C1>" in (model.requests[-1].instructions or "")


# OpenAI Conversations ------------------------------------------------------------------------------


async def test_conversations_mode_keeps_one_openai_conversation_per_thread(start_bot, slack, model):
    bot = await start_bot(memory_mode="conversations")
    thread = await _thread(bot, slack, ["my name is Alice", "what is my name?"])
    other = await _thread(bot, slack, ["a thread of its own"])

    first, second, third = model.requests
    assert first.conversation and second.conversation == first.conversation
    assert third.conversation not in (None, first.conversation)
    assert all(r.previous_response_id is None for r in model.requests)
    assert second.input_texts == [("user", "alice (<@UALICE>): what is my name?")]  # OpenAI holds the rest
    assert second.context[:2] == [
        ("user", "alice (<@UALICE>): my name is Alice"),
        ("assistant", "Reply 1: alice (<@UALICE>): my name is Alice"),
    ]
    assert len(model.conversations.stored) == 2 and thread and other


async def test_a_long_thread_seeds_its_conversation_twenty_items_at_a_time(start_bot, slack, model):
    bot = await start_bot(memory_mode="conversations")
    root = slack.post_user_message("C1", BOB, "message 0")
    for n in range(1, 45):  # the bot's answers and people's messages alternate: 45 items to seed
        author = ("UBOT", "BBOT") if n % 2 else (ALICE, None)
        slack.post_user_message("C1", author[0], f"message {n}", thread_ts=root["ts"], bot_id=author[1])

    await say(bot, slack, "C1", ALICE, "<@UBOT> summarise please", thread_ts=root["ts"])
    await slack.wait_for_bot_messages("C1", root["ts"], 23, timeout=15)

    calls = model.conversations.calls
    assert [(method, items) for method, _path, items in calls] == [("POST", 20), ("POST", 20), ("POST", 5)]
    assert calls[0][1] == "/conversations" and calls[1][1].endswith("/items")
    sent = model.requests[-1]
    assert [text.split(": ", 1)[-1] for _role, text in sent.context[:45]] == [f"message {n}" for n in range(45)]
    assert sent.input_texts == [("user", "alice (<@UALICE>): summarise please")]


async def test_a_reset_deletes_the_threads_conversation_at_openai(start_bot, slack, model):
    bot = await start_bot(memory_mode="conversations")
    thread = await _thread(bot, slack, ["the secret word is banana"])
    [conversation] = model.conversations.stored

    await say(bot, slack, "C1", ALICE, "<@UBOT> reset", thread_ts=thread)
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    assert conversation not in model.conversations.stored  # conversations never expire: deleted, not just dropped

    await say(bot, slack, "C1", ALICE, "what was the secret word?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 2)
    assert model.requests[-1].context == [("user", "alice (<@UALICE>): what was the secret word?")]
    assert model.requests[-1].conversation != conversation


async def test_a_channel_reset_deletes_a_threads_conversation_when_it_is_next_used(start_bot, slack, model):
    bot = await start_bot(memory_mode="conversations")
    thread = await _thread(bot, slack, ["the secret word is banana"])
    [conversation] = model.conversations.stored
    await bot.command("/reset", channel_id="C1", user_id=ALICE, response_url=slack.response_url())

    await say(bot, slack, "C1", ALICE, "what was the secret word?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 2)

    assert conversation not in model.conversations.stored
    assert "banana" not in " ".join(text for _role, text in model.requests[-1].context)


async def test_a_conversation_gone_at_openai_is_rebuilt_from_slack(start_bot, slack, model):
    bot = await start_bot(memory_mode="conversations")
    thread = await _thread(bot, slack, ["my locker is 113"])
    model.forget_all()

    await say(bot, slack, "C1", ALICE, "what is my locker?", thread_ts=thread)
    answers = await slack.wait_for_bot_messages("C1", thread, 2)

    refused, rebuilt = model.requests[-2:]
    assert refused.status == 404
    assert rebuilt.status == 200 and rebuilt.conversation != refused.conversation
    assert ("user", "alice (<@UALICE>): my locker is 113") in rebuilt.context
    assert answers[-1]["text"] == "Reply 2: alice (<@UALICE>): what is my locker?"  # one answer, nothing seen


# Changing the mode of a running deployment ---------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [("responses", "conversations"), ("conversations", "local"), ("local", "responses")],
)
async def test_a_mode_change_rebuilds_each_thread_once_and_goes_on(start_bot, slack, model, before, after):
    old = await start_bot(memory_mode=before)
    thread = await _thread(old, slack, ["my locker is 113"])
    await old.stop()

    new = await start_bot(memory_mode=after)
    for n, text in enumerate(["what is my locker?", "thanks"], start=2):
        await say(new, slack, "C1", ALICE, text, thread_ts=thread)
        await slack.wait_for_bot_messages("C1", thread, n)
        assert ("user", "alice (<@UALICE>): my locker is 113") in model.requests[-1].context

    assert len(slack.calls_to("conversations.replies")) == 1  # rebuilt once, then remembered in the new mode
    assert all(r.status == 200 for r in model.requests)
