"""What a turn costs: one cacheable prefix per conversation, a usage line per turn, and a daily budget per person."""

from __future__ import annotations

import logging
from decimal import Decimal

from conftest import ALICE, BOB
from harness import say

CAROL = "UCAROL"


async def test_three_people_alternating_share_one_cached_prefix_per_thread(start_bot, slack, model, caplog):
    slack.add_user(CAROL, "Carol Danvers", "carol")
    bot = await start_bot()
    model.cache_min_tokens, model.cache_step_tokens = 1, 1  # a short thread: every cached token counts
    caplog.set_level(logging.INFO, logger="bot.turn.conversation")
    people = [ALICE, BOB, CAROL]
    threads = []
    for channel in ("C1", "C2"):
        root = await say(bot, slack, channel, ALICE, "<@UBOT> plan the offsite with <@UBOB> and <@UCAROL>")
        await slack.wait_for_bot_messages(channel, root["ts"], 1)
        for n in range(1, 7):
            speaker, mentioned = people[n % 3], people[(n + 1) % 3]
            await say(bot, slack, channel, speaker, f"point {n}, right <@{mentioned}>?", thread_ts=root["ts"])
            await slack.wait_for_bot_messages(channel, root["ts"], n + 1)
        threads.append(model.requests[-7:])

    for turns in threads:
        assert len({t.instructions for t in turns}) == 1  # byte-identical, whoever speaks or is mentioned
        assert len({t.prompt_cache_key for t in turns}) == 1
        for turn in turns[1:]:  # all but the last answer and the new message came from the cache
            assert turn.usage is not None
            assert turn.usage["input_tokens_details"]["cached_tokens"] > 0.6 * turn.usage["input_tokens"]
    first, second = threads[0][0], threads[1][0]
    assert first.prompt_cache_key != second.prompt_cache_key
    assert first.prompt_cache_key is not None and "C1" not in first.prompt_cache_key  # hashed, no Slack id in clear
    assert threads[0][1].input_texts == [("user", "bob (<@UBOB>): point 1, right @carol? (carol is <@UCAROL>)")]

    await bot.settled()  # the line is written once the answer is posted
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("turn usage")]
    assert len(lines) == 14
    assert lines[0].startswith("turn usage conversation=T0001/C1/") and " model=gpt-test context=new input=" in lines[0]
    assert "context=chained input=" in lines[1] and " cached=0 " not in lines[1]


async def test_a_person_over_the_daily_budget_gets_a_note_and_no_model_call_until_the_next_day(start_bot, slack, model):
    bot = await start_bot(daily_token_budget_per_user=100)
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's our deploy checklist?")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    spent = model.requests[-1].usage
    assert spent is not None and spent["total_tokens"] > 100  # the instructions alone are over 100 tokens

    await say(bot, slack, "C1", ALICE, "and the rollback plan?", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert "resets at midnight UTC" in answers[-1]["text"]
    assert len(model.requests) == 1  # no model call for it
    await say(bot, slack, "C1", BOB, "Bob here, same question", thread_ts=question["ts"])
    answers = await slack.wait_for_bot_messages("C1", question["ts"], 3)
    assert answers[-1]["text"].endswith("bob (<@UBOB>): Bob here, same question")  # the budget is per person

    next_day = (Decimal(question["ts"]) // 86400 + 1) * 86400 + 60
    tomorrow = slack.post_user_message(
        "C1", ALICE, "good morning, rollback plan?", thread_ts=question["ts"], ts=f"{next_day}.000100"
    )
    await bot.send_event(tomorrow)

    answers = await slack.wait_for_bot_messages("C1", question["ts"], 4)
    assert answers[-1]["text"].endswith("alice (<@UALICE>): good morning, rollback plan?")
    assert model.requests[-1].previous_response_id == model.requests[-2].response_id  # the memory went on
