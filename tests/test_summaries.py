"""People catch up: "Summarize this thread" sends them a summary only they see, in their DM with the bot, and
"@bot catch me up on #channel" summarizes a busy channel in parts, within the budget, linking key messages."""

from __future__ import annotations

import logging
import re

from conftest import ALICE, BOB, all_memory_modes
from harness import say

from bot.listeners.shortcuts import SUMMARIZE_CALLBACK_ID
from bot.model.quoting import BEGIN
from bot.model.summarize import PART_INSTRUCTIONS
from bot.shared import phrases
from bot.turn.catch_up import catch_up_request, since_moment
from bot.turn.digest import chunked

BUDGET = 8_000
NUMBER = re.compile(r"\[(\d+)\]")


def permalink(channel: str, ts: str, thread_ts: str | None = None) -> str:
    link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return link + (f"?thread_ts={thread_ts}&cid={channel}" if thread_ts and thread_ts != ts else "")


def summary_of_thread(request) -> str:
    """The model summarizes what it was given, citing the message that decided it."""
    sent = request.input_texts[-1][1]
    assert "Booked the venue for May 12." in sent and "Should we move the offsite to May?" in sent
    [booked] = [n for n, line in re.findall(r"\[(\d+)\] ([^\n]*)", sent) if "Booked the venue" in line]
    return f"The offsite moves to May 12; the venue is booked [{booked}]."


async def test_the_thread_shortcut_gives_the_asker_a_summary_in_their_dm_and_a_follow_up_knows_it(
    start_bot, slack, model
):
    bot = await start_bot()
    root = slack.post_user_message("C1", BOB, "Should we move the offsite to May?")
    slack.post_user_message("C1", ALICE, "Yes, May 12 works for everyone.", thread_ts=root["ts"])
    booked = slack.post_user_message("C1", BOB, "Booked the venue for May 12.", thread_ts=root["ts"])
    model.reply_with(summary_of_thread)

    await bot.shortcut(
        SUMMARIZE_CALLBACK_ID, channel_id="C1", user_id=ALICE, message=booked, response_url=slack.response_url()
    )
    note, summary = await slack.wait_for_bot_messages("DALICE", None, 2, timeout=15)

    assert permalink("C1", root["ts"]) in note["text"] and "only for you" in note["text"]
    assert summary["text"].startswith("The offsite moves to May 12; the venue is booked [3].")
    assert permalink("C1", booked["ts"], root["ts"]) in summary["text"]  # the cited message, as a link
    assert slack.bot_messages("C1", root["ts"]) == []  # nothing in the thread: the summary is Alice's alone
    assert slack.ephemerals == []

    summarized = model.last_request
    await say(bot, slack, "DALICE", ALICE, "who booked it?")
    await slack.wait_for_bot_messages("DALICE", None, 3)
    assert model.last_request.previous_response_id == summarized.response_id  # the DM's memory holds the summary


def parts_and_final(request) -> str:
    """Each part cites its first and last message; the final answer cites what the parts cited."""
    text = "\n".join(t for _role, t in request.input_texts)
    numbers = NUMBER.findall(text.split(BEGIN)[-1])  # in the quoted messages or parts
    if request.instructions and PART_INSTRUCTIONS in request.instructions:
        return f"- builds went green [{numbers[0]}][{numbers[-1]}]"
    return f"Catch-up: every build went green, from the first [{numbers[0]}] to the last [{numbers[-1]}]."


@all_memory_modes
async def test_catch_me_up_on_a_500_message_channel_answers_within_the_budget_with_permalinks(
    start_bot, slack, model, caplog
):
    caplog.set_level(logging.INFO)
    posted = [
        slack.post_user_message("CBUSY", BOB, f"Update {n}: the build of service-{n} is green again after the fix.")
        for n in range(1, 501)
    ]
    bot = await start_bot(history_budget_chars=BUDGET)
    model.default_reply = parts_and_final

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> catch me up on <#CBUSY|busy> since Monday")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=30)

    assert answer["text"].startswith("Catch-up: every build went green, from the first [1] to the last [500].")
    assert permalink("CBUSY", posted[0]["ts"]) in answer["text"]
    assert permalink("CBUSY", posted[-1]["ts"]) in answer["text"]
    parts = [r for r in model.requests if r.instructions and PART_INSTRUCTIONS in r.instructions]
    assert len(parts) > 1  # summarized in parts
    for request in model.requests:  # every model call within the budget
        assert sum(len(text) for _role, text in request.input_texts) <= BUDGET
    assert not any(r.store for r in parts)  # the parts are not stored by OpenAI
    assert len(slack.calls_to("conversations.history")) == 3  # 500 messages, 200 a page
    shown = [status for _c, _t, status in slack.statuses]
    assert "is reading #cbusy…" in shown and f"is summarizing: {len(parts)} of {len(parts)} parts done…" in shown
    # The parts' tokens count toward the person's daily budget with the answer's.
    await bot.settled()
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("turn usage")]
    assert f" input={sum(r.usage['input_tokens'] for r in model.requests)} " in line


async def test_a_distributed_apps_history_limit_gives_a_prompt_answer_that_says_what_was_not_read(
    start_bot, slack, model
):
    # Since 2025-05-29, commercially distributed apps outside the Marketplace: 1 history call a minute, 15 a page.
    slack.page_size_cap = 15
    slack.rate_tiers["conversations.history"] = 1
    posted = [slack.post_user_message("CBUSY", BOB, f"Update {n}: deploy {n} done.") for n in range(1, 101)]
    bot = await start_bot()
    model.default_reply = parts_and_final

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> catch me up on <#CBUSY|busy>")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=20)  # no minute-long wait

    sent = model.last_request.input_texts[-1][1]
    assert "15 message(s); only the newest 15 were read: Slack's rate limit for history reads" in sent
    assert "Update 86: deploy 86 done." in sent and "Update 85:" not in sent
    assert permalink("CBUSY", posted[-1]["ts"]) in answer["text"]
    assert len(slack.rate_limited) == 1  # one refused call, not retried for a minute


async def test_catch_up_on_a_private_channel_from_a_public_one_is_refused_with_the_reason(start_bot, slack, model):
    slack.search.add_channel("GBOARD", "board", kind="private_channel", members=(ALICE,), bot_is_member=True)
    slack.post_user_message("GBOARD", ALICE, "The acquisition closes on Friday.")
    bot = await start_bot()
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> catch me up on <#GBOARD>")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    sent = model.last_request.input_texts[-1][1]
    assert "cannot be read: it is in a private conversation" in sent
    assert "acquisition" not in sent
    assert not slack.calls_to("conversations.history")


def test_catch_up_requests_and_their_moments():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # a Sunday
    request = catch_up_request("<@UBOT> catch me up on <#C0BUSY|busy> since Monday", bot_user_id="UBOT", now=now)
    assert request is not None and request.channel_id == "C0BUSY"
    assert datetime.fromtimestamp(request.oldest, UTC) == datetime(2026, 11, 30, tzinfo=UTC)
    assert since_moment("the last 3 days", now)[0] == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    assert since_moment("yesterday", now)[1] == "since yesterday"
    assert catch_up_request("<@UBOT> what is #busy about?", bot_user_id="UBOT", now=now) is None
    assert chunked(["aaaa", "bbbb", "cccc"], 10) == [["aaaa", "bbbb"], ["cccc"]]


async def test_when_slack_will_not_open_the_dm_the_person_is_told_only_in_their_view(start_bot, slack, model):
    bot = await start_bot()
    root = slack.post_user_message("C1", BOB, "Should we move the offsite to May?")
    slack.fail_next("conversations.open", "user_disabled")
    await bot.shortcut(
        SUMMARIZE_CALLBACK_ID, channel_id="C1", user_id=ALICE, message=root, response_url=slack.response_url()
    )
    await slack.wait_for(lambda: bool(slack.ephemerals))
    assert slack.ephemerals[0]["text"] == phrases.SUMMARY_NO_DM
    assert slack.bot_messages("C1") == [] and model.requests == []
