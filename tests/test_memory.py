"""Memory lives on OpenAI's side; when it is gone the bot rebuilds it from Slack and nobody notices."""

from __future__ import annotations

import redis.asyncio as aioredis
from conftest import ALICE, BOB, all_memory_modes
from harness import say, thread_with


async def test_an_expired_response_id_is_rebuilt_from_the_thread_and_chaining_resumes(bot, slack, model):
    thread = await thread_with(bot, slack, ALICE, ["my dog is Rex", "my cat is Tom", "my fish is Bubbles"])
    model.forget_all()  # OpenAI dropped the stored responses (30-day retention)

    await say(bot, slack, "C1", ALICE, "name all my pets", thread_ts=thread)
    answers = await slack.wait_for_bot_messages("C1", thread, 4)

    rejected, rebuilt = model.requests[-2:]
    assert rejected.status == 400 and rejected.previous_response_id is not None
    assert rebuilt.previous_response_id is None
    assert rebuilt.input_texts == [
        ("user", "alice (<@UALICE>): my dog is Rex"),
        ("assistant", "Reply 1: alice (<@UALICE>): my dog is Rex"),
        ("user", "alice (<@UALICE>): my cat is Tom"),
        ("assistant", "Reply 2: alice (<@UALICE>): my cat is Tom"),
        ("user", "alice (<@UALICE>): my fish is Bubbles"),
        ("assistant", "Reply 3: alice (<@UALICE>): my fish is Bubbles"),
        ("user", "alice (<@UALICE>): name all my pets"),
    ]
    assert answers[-1]["text"] == "Reply 4: alice (<@UALICE>): name all my pets"  # the user sees one answer

    await say(bot, slack, "C1", ALICE, "thanks", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 5)
    assert model.requests[-1].previous_response_id == rebuilt.response_id
    assert model.requests[-1].input_texts == [("user", "alice (<@UALICE>): thanks")]


async def test_a_gateway_style_invalid_id_error_also_leads_to_a_rebuild(bot, slack, model):
    thread = await thread_with(bot, slack, ALICE, ["remember 42"])
    model.invalid_id_style = "gateway"
    model.forget_all()

    await say(bot, slack, "C1", ALICE, "what number?", thread_ts=thread)

    await slack.wait_for_bot_messages("C1", thread, 2)
    assert ("user", "alice (<@UALICE>): remember 42") in model.requests[-1].input_texts


async def test_an_id_older_than_the_retention_window_is_not_used(start_bot, slack, model):
    bot = await start_bot(response_retention_days=0.0)
    thread = await thread_with(bot, slack, ALICE, ["remember 42"])

    await say(bot, slack, "C1", ALICE, "what number?", thread_ts=thread)

    await slack.wait_for_bot_messages("C1", thread, 2)
    sent = model.requests[-1]
    assert sent.previous_response_id is None  # never even tried: the id was past retention
    assert sent.input_texts[0] == ("user", "alice (<@UALICE>): remember 42")
    assert all(r.status == 200 for r in model.requests)


@all_memory_modes
async def test_a_restarted_bot_keeps_the_threads_memory(start_bot, slack, model):
    first = await start_bot()
    thread = await thread_with(first, slack, ALICE, ["my name is Alice"])
    await first.stop()

    second = await start_bot()
    await say(second, slack, "C1", ALICE, "what's my name?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 2)
    assert model.requests[-1].context == [
        ("user", "alice (<@UALICE>): my name is Alice"),
        ("assistant", "Reply 1: alice (<@UALICE>): my name is Alice"),
        ("user", "alice (<@UALICE>): what's my name?"),
    ]
    assert slack.calls_to("conversations.replies") == []  # remembered, not re-read from Slack


async def test_a_long_thread_is_read_through_small_rate_limited_pages(bot, slack, model):
    root = slack.post_user_message("C1", BOB, "message 0")
    for n in range(1, 40):
        slack.post_user_message("C1", BOB if n % 2 else ALICE, f"message {n}", thread_ts=root["ts"])
    slack.page_size_cap = 15  # what some apps get from conversations.replies
    slack.rate_limit_next("conversations.replies", count=1, retry_after=1)

    await say(bot, slack, "C1", ALICE, "<@UBOT> summarise please", thread_ts=root["ts"])

    await slack.wait_for_bot_messages("C1", root["ts"], 1, timeout=10)
    earlier, current = model.requests[-1].input_texts  # people's messages in a row are one user turn
    assert [line.split(": ", 1)[1] for line in earlier[1].split("\n\n")] == [f"message {n}" for n in range(40)]
    assert current == ("user", "alice (<@UALICE>): summarise please")
    pages = [c for c in slack.calls_to("conversations.replies")]
    assert len(pages) == 1 + 3  # one refused with 429, then three pages of at most 15


async def test_rebuilt_context_keeps_the_root_and_the_newest_turns_within_the_budget(start_bot, slack, model):
    bot = await start_bot(history_budget_chars=1_000)
    root = slack.post_user_message("C1", BOB, "ROOT: the project is called Zephyr")
    for n in range(1, 60):
        slack.post_user_message("C1", BOB, f"filler message number {n:02d}", thread_ts=root["ts"])

    await say(bot, slack, "C1", ALICE, "<@UBOT> what is the project called?", thread_ts=root["ts"])

    await slack.wait_for_bot_messages("C1", root["ts"], 1)
    earlier, current = model.requests[-1].input_texts
    said = earlier[1].split("\n\n")  # people's messages in a row are one user turn
    assert said[0] == "bob (<@UBOB>): ROOT: the project is called Zephyr"
    assert "earlier messages of this conversation are not shown" in said[1]
    assert said[-1] == "bob (<@UBOB>): filler message number 59"
    assert said[2:] == [f"bob (<@UBOB>): filler message number {n:02d}" for n in range(60 - len(said[2:]), 60)]
    assert current == ("user", "alice (<@UALICE>): what is the project called?")
    assert len(earlier[1]) + len(current[1]) <= 1_000
    assert "what is the project called?" not in earlier[1]


async def test_the_bot_stays_part_of_a_thread_for_90_days_and_every_key_expires(bot, slack, redis_url):
    thread = await thread_with(bot, slack, ALICE, ["hello"])
    await bot.command("/reset", channel_id="C2", user_id=ALICE, response_url=slack.response_url())

    client = aioredis.Redis.from_url(redis_url)
    prefix = bot.bot.settings.redis_prefix
    keys = [k.decode() async for k in client.scan_iter(f"{prefix}:*")]
    ttls = {k: await client.ttl(k) for k in keys}
    await client.aclose()

    assert keys and all(k.startswith(f"{prefix}:T0001:") for k in keys)  # namespaced by team
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    [thread_key] = [k for k in keys if k.endswith(f":thread:C1:{thread}")]
    assert ttls[thread_key] >= 90 * 86400 - 60
