"""The model sees people by name, and can mention them back so Slack notifies them."""

from __future__ import annotations

from conftest import ALICE, BOB
from harness import say


def _lookups(slack, user_id: str) -> int:
    return len([c for c in slack.calls_to("users.info") if c.args.get("user") == user_id])


async def test_people_are_named_for_the_model_and_looked_up_once(bot, slack, model):
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> can <@UBOB> review my PR?")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await say(bot, slack, "C1", BOB, "sure, which one?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    await say(bot, slack, "C1", ALICE, "thanks <@UBOB>", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 3)

    assert model.requests[0].input_texts == [("user", "alice (<@UALICE>): can @bob review my PR? (bob is <@UBOB>)")]
    assert model.requests[1].input_texts == [("user", "bob (<@UBOB>): sure, which one?")]
    assert model.requests[2].input_texts == [("user", "alice (<@UALICE>): thanks @bob (bob is <@UBOB>)")]
    assert _lookups(slack, ALICE) == 1 and _lookups(slack, BOB) == 1  # names are cached across turns


async def test_names_survive_a_rebuild_from_slack_history(bot, slack, model):
    root = slack.post_user_message("C1", BOB, "who owns the billing service?")
    await say(bot, slack, "C1", ALICE, "<@UBOT> do you know?", thread_ts=root["ts"])
    await slack.wait_for_bot_messages("C1", root["ts"], 1)

    assert model.requests[-1].input_texts[0] == ("user", "bob (<@UBOB>): who owns the billing service?")


async def test_the_models_mention_of_someone_reaches_slack_as_a_mention(bot, slack, model):
    model.reply_with("<@UBOB> knows this best; ask him.")

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> who knows the deploy pipeline?")

    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert answer["text"] == "<@UBOB> knows this best; ask him."
    assert answer["blocks"][0]["text"] == "<@UBOB> knows this best; ask him."
