"""An admin caps the day's tokens per channel and for the whole workspace: past a cap, a polite note saying when
it resets, and no model call."""

from __future__ import annotations

from conftest import ALICE, BOB
from harness import say


async def test_a_channel_over_its_daily_budget_gets_a_note_while_other_channels_are_answered(start_bot, slack, model):
    bot = await start_bot(daily_token_budget_per_channel=100)
    first = await say(bot, slack, "C1", ALICE, "<@UBOT> what's our deploy checklist?")
    await slack.wait_for_bot_messages("C1", first["ts"], 1)
    assert model.requests[-1].usage is not None and model.requests[-1].usage["total_tokens"] > 100
    await bot.settled()  # the tokens are counted once the answer is posted

    over = await say(bot, slack, "C1", BOB, "<@UBOT> Bob here: and the rollback plan?")
    elsewhere = await say(bot, slack, "C2", BOB, "<@UBOT> Bob here: and the rollback plan?")

    [note] = await slack.wait_for_bot_messages("C1", over["ts"], 1)
    assert note["text"].startswith("This channel has used its share of my answers for today")
    assert "resets at midnight UTC (in " in note["text"]
    [answer] = await slack.wait_for_bot_messages("C2", elsewhere["ts"], 1)
    assert answer["text"].endswith("Bob here: and the rollback plan?")
    await bot.settled()
    assert len(model.requests) == 2  # none for the message over the channel's budget


async def test_a_workspace_over_its_daily_budget_gets_a_note_everywhere(start_bot, slack, model):
    bot = await start_bot(daily_token_budget_per_workspace=100, daily_token_budget_per_user=1_000_000)
    first = await say(bot, slack, "C1", ALICE, "<@UBOT> what's our deploy checklist?")
    await slack.wait_for_bot_messages("C1", first["ts"], 1)
    await bot.settled()

    in_a_dm = await say(bot, slack, "D2", BOB, "hi, a question")
    in_another_channel = await say(bot, slack, "C2", BOB, "<@UBOT> a question")

    [note] = await slack.wait_for_bot_messages("D2", None, 1)
    assert note["text"].startswith("This workspace has used its share of my answers for today")
    assert note["ts"] != in_a_dm["ts"]
    [note] = await slack.wait_for_bot_messages("C2", in_another_channel["ts"], 1)
    assert note["text"].startswith("This workspace has used its share")
    await bot.settled()
    assert len(model.requests) == 1
