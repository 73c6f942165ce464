"""What the bot says on its own is short and friendly: hints say what it can do, errors say what to do next."""

from __future__ import annotations

from conftest import ALICE
from harness import say

from bot.shared import phrases


async def test_an_empty_mention_gets_a_hint_listing_what_the_bot_can_do(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT>")

    [hint] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    text = hint["text"].lower()
    assert "ask me" in text and "follow-ups" in text and "/reset" in text
    assert model.requests == []


async def test_an_empty_dm_hint_says_how_to_start_fresh(bot, slack, model):
    await say(bot, slack, "D1", ALICE, "<@UBOT>")

    [hint] = await slack.wait_for_bot_messages("D1", None, 1)
    assert hint["text"] == phrases.DM_HINT
    assert "/reset" in hint["text"]


async def test_a_model_error_is_one_friendly_sentence_without_details(bot, slack, model):
    model.fail_next(status=400, message="Invalid value for 'temperature': secret-internal-detail.")

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")

    [notice] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert notice["text"] == "Something went wrong on my side and I couldn't answer. Please try again."
    assert "secret-internal-detail" not in notice["text"] and "400" not in notice["text"]


async def test_a_busy_model_asks_people_to_try_again_shortly(bot, slack, model):
    model.fail_next(count=5, status=429, retry_after_ms=1)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> hello")

    [notice] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=10)
    assert notice["text"] == phrases.BUSY


def test_everything_the_bot_says_on_its_own_is_short():
    said = [v for k, v in vars(phrases).items() if k.isupper() and isinstance(v, str)]
    assert said and all(len(text) <= 300 for text in said)
    assert all("error" not in text.lower() and "exception" not in text.lower() for text in said)
