"""Forged, stale, broken or odd requests: refused or handled politely, and the bot keeps serving."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis
from conftest import ALICE, BOB
from harness import markdown_or_text, say, sign

from bot.shared import phrases

Forgery = Callable[[str], dict[str, str]]

FORGERIES: dict[str, Forgery] = {
    "missing": lambda _body: {},
    "of-another-body": lambda _body: sign('{"type": "event_callback"}'),
    "wrong-secret": lambda body: sign(body, secret="not-the-signing-secret"),
    "stale": lambda body: sign(body, timestamp=int(time.time()) - 600),  # a replay from ten minutes ago
}


async def _keys_of(bot, redis_url: str) -> list[str]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return [k.decode() async for k in client.scan_iter(f"{bot.bot.settings.redis_prefix}:*")]
    finally:
        await client.aclose()


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
async def test_requests_without_a_valid_signature_are_refused_before_anything_happens(
    bot, slack, model, redis_url, forgery
):
    event = slack.post_user_message("C1", ALICE, "<@UBOT> hello")
    body = json.dumps({"team_id": "T0001", "type": "event_callback", "event_id": "EvX", "event": event})

    answer = await bot.post(body, content_type="application/json", headers=forgery(body), signed=False)

    assert answer.status == 401
    await asyncio.sleep(0.2)
    assert model.requests == []
    assert await _keys_of(bot, redis_url) == []  # not even a de-duplication mark
    assert slack.bot_messages("C1") == []


MALFORMED: dict[str, tuple[str, str]] = {
    "broken-json": ("{not json", "application/json"),
    "json-list": ("[1, 2, 3]", "application/json"),
    "json-string": ('"just a string"', "application/json"),
    "empty": ("", "application/json"),
    "broken-payload": ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    "payload-list": ("payload=%5B%5D", "application/x-www-form-urlencoded"),
    "event-not-an-object": ('{"type": "event_callback", "team_id": "T0001", "event": "hi"}', "application/json"),
    "binary": ("\xff\xfe\x00 garbage", "application/octet-stream"),
}


@pytest.mark.parametrize(("body", "content_type"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_bodies_get_a_client_error_and_the_bot_keeps_serving(bot, slack, model, body, content_type):
    answer = await bot.post(body, content_type=content_type)

    assert 400 <= answer.status < 500, answer
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> still there?")
    [reply] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert reply["text"].endswith("still there?")


async def test_an_event_missing_its_fields_is_acknowledged_and_ignored(bot, slack, model):
    body = json.dumps({"team_id": "T0001", "type": "event_callback", "event_id": "EvY", "event": {"type": "message"}})

    answer = await bot.post(body, content_type="application/json")

    assert answer.status == 200  # Slack must not retry it
    await asyncio.sleep(0.2)
    assert model.requests == []


async def test_an_empty_mention_gets_a_short_hint(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT>")

    [hint] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    assert hint["text"] == phrases.HINT.format(bot="UBOT")
    assert model.requests == []
    await say(bot, slack, "C1", ALICE, "ok then: what is 2 + 2?", thread_ts=question["ts"])  # its thread now
    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert answers[-1]["text"].endswith("what is 2 + 2?")


async def test_a_message_of_tens_of_thousands_of_characters_is_answered_within_slacks_limits(bot, slack, model):
    long_text = " ".join(f"word{n}" for n in range(4_000))  # about 35,000 characters

    question = await say(bot, slack, "C1", ALICE, f"<@UBOT> {long_text}")

    # The fake model echoes the question, so the answer is that long too: it comes in several messages.
    def shown(message: dict) -> str:  # what Slack renders: the markdown block, or a streamed message's text
        return markdown_or_text(message)

    def whole_answer() -> str:
        return " ".join(shown(a) for a in slack.bot_messages("C1", question["ts"]) if not a.get("streaming"))

    await slack.wait_for(lambda: "word3999" in whole_answer())
    assert model.requests[-1].input_texts == [("user", f"alice (<@UALICE>): {long_text}")]
    answers = slack.bot_messages("C1", question["ts"])
    assert len(answers) >= 3 and all(len(shown(a)) <= 12_000 and len(a["text"]) <= 4_000 for a in answers)
    assert whole_answer().count("word3999") == 1 and whole_answer().count("word0 ") == 1


async def test_a_message_longer_than_the_bot_can_take_is_refused_politely(bot, slack, model):
    long_text = "x" * 60_000

    question = await say(bot, slack, "C1", ALICE, f"<@UBOT> {long_text}")

    [note] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert note["text"].startswith("That message is too long for me")
    assert model.requests == []
    await say(bot, slack, "C1", ALICE, "shorter then", thread_ts=question["ts"])  # still its thread
    await slack.wait_for_bot_messages("C1", question["ts"], 2)


async def test_unicode_emoji_and_slack_markup_reach_the_model_as_readable_text(bot, slack, model):
    text = (
        "<@UBOT> ask <@UBOB> about <#C2|dev-team> and <https://example.com/a?b=1&amp;c=2|the docs> "
        "or <mailto:x@example.com|mail> :tada: 🎉 naïve 日本語 &lt;tag&gt; &amp; <!here>"
    )

    question = await say(bot, slack, "C1", ALICE, text)

    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert model.requests[-1].input_texts == [
        (
            "user",
            "alice (<@UALICE>): ask @bob about #dev-team and the docs (https://example.com/a?b=1&c=2) "
            "or mail :tada: 🎉 naïve 日本語 <tag> & @here (bob is <@UBOB>)",  # so the model can mention Bob back
        )
    ]


async def test_bob_can_follow_up_in_a_right_to_left_script(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> translate please")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)

    await say(bot, slack, "C1", BOB, "مرحبا بالعالم", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert answers[-1]["text"].endswith("bob (<@UBOB>): مرحبا بالعالم")
