"""Two workspaces sharing one Redis never share memory; /reset only clears where it was typed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from conftest import ALICE
from fakes.slack import FakeSlack
from harness import say

# The same channel id and message ts in both workspaces: only the team id tells them apart.
CHANNEL = "C1"
THREAD_TS = "1790000100.000100"


@pytest.fixture
async def other_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(team_id="T0002")
    fake.add_user(ALICE, "Alice Other", "alice2")
    await fake.start()
    yield fake
    await fake.stop()


async def test_the_same_thread_in_two_workspaces_is_two_conversations(start_bot, slack, other_slack, model):
    here = await start_bot()
    there = await start_bot(slack_api_url=other_slack.api_url)  # another install, same Redis and prefix
    there.team_id = "T0002"
    question = slack.post_user_message(CHANNEL, ALICE, "<@UBOT> the password is swordfish", ts=THREAD_TS)
    await here.send_event(question)
    await slack.wait_for_bot_messages(CHANNEL, THREAD_TS, 1)
    remembered = model.requests[-1].response_id

    other_root = other_slack.post_user_message(CHANNEL, ALICE, "unrelated chat", ts=THREAD_TS)
    await there.send_event(other_root)
    other_reply = other_slack.post_user_message(CHANNEL, ALICE, "what is the password?", thread_ts=THREAD_TS)
    await there.send_event(other_reply)
    await asyncio.sleep(0.3)
    assert other_slack.bot_messages(CHANNEL, THREAD_TS) == []  # not its thread over there
    assert len(model.requests) == 1

    await say(there, other_slack, CHANNEL, ALICE, "<@UBOT> what is the password?", thread_ts=THREAD_TS)
    await other_slack.wait_for_bot_messages(CHANNEL, THREAD_TS, 1)
    assert model.requests[-1].previous_response_id is None
    assert "swordfish" not in " ".join(text for _role, text in model.requests[-1].context)

    await say(here, slack, CHANNEL, ALICE, "and the password?", thread_ts=THREAD_TS)
    await slack.wait_for_bot_messages(CHANNEL, THREAD_TS, 2)
    assert model.requests[-1].previous_response_id == remembered


async def test_slash_reset_in_one_workspace_leaves_the_same_channel_of_another_alone(
    start_bot, slack, other_slack, model
):
    here = await start_bot()
    there = await start_bot(slack_api_url=other_slack.api_url)
    there.team_id = "T0002"
    question = await say(here, slack, CHANNEL, ALICE, "<@UBOT> remember plums")
    await slack.wait_for_bot_messages(CHANNEL, question["ts"], 1)
    remembered = model.requests[-1].response_id

    response = await there.command("/reset", channel_id=CHANNEL, user_id=ALICE, response_url=other_slack.response_url())
    assert "forgotten every thread in this channel" in response.text

    await say(here, slack, CHANNEL, ALICE, "which fruit?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages(CHANNEL, question["ts"], 2)
    assert model.requests[-1].previous_response_id == remembered


CAROL = "UCAROL"  # from a partner company's workspace, in a Slack Connect channel shared with this one
PARTNER_TEAM = "T0PARTNER"
SLOW_ANSWER = "Shared channels connect two organisations; each keeps its own workspace, members and settings."


async def test_in_a_slack_connect_channel_a_partners_question_streams_to_them_and_their_resets_apply(bot, slack, model):
    slack.add_user(CAROL, "Carol Partner", "carol", team_id=PARTNER_TEAM)
    model.reply_with(SLOW_ANSWER)
    model.stream_chunks, model.stream_chunk_delay = 5, 0.3

    question = await say(bot, slack, CHANNEL, CAROL, "<@UBOT> the launch code is otter; how do shared channels work?")
    [answer] = await slack.wait_for_bot_messages(CHANNEL, question["ts"], 1, timeout=10)

    assert answer["text"] == SLOW_ANSWER and answer["chunks"]  # streamed: Slack accepted the recipient
    [start] = slack.calls_to("chat.startStream")
    assert (start.args["recipient_user_id"], start.args["recipient_team_id"]) == (CAROL, PARTNER_TEAM)

    # Carol's /reset names her own workspace, yet it forgets the memory the events were keyed by.
    response = await bot.command(
        "/reset", channel_id=CHANNEL, user_id=CAROL, response_url=slack.response_url(), user_team_id=PARTNER_TEAM
    )
    assert "forgotten every thread in this channel" in response.text
    model.stream_chunk_delay = 0.0
    await say(bot, slack, CHANNEL, CAROL, "what was the launch code?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages(CHANNEL, question["ts"], 2)
    assert model.requests[-1].previous_response_id is None
    assert "otter" not in " ".join(text for _role, text in model.requests[-1].context)


async def test_in_a_slack_connect_channel_a_partners_shortcut_resets_the_thread_the_events_remember(bot, slack, model):
    slack.add_user(CAROL, "Carol Partner", "carol", team_id=PARTNER_TEAM)
    question = await say(bot, slack, CHANNEL, CAROL, "<@UBOT> the launch code is otter")
    await slack.wait_for_bot_messages(CHANNEL, question["ts"], 1)

    await bot.shortcut(
        "reset_thread",
        channel_id=CHANNEL,
        user_id=CAROL,
        message={"ts": question["ts"], "text": question["text"]},
        response_url=slack.response_url(),
        user_team_id=PARTNER_TEAM,
    )
    await slack.wait_for_bot_messages(CHANNEL, question["ts"], 2)  # the note saying the thread was reset

    await say(bot, slack, CHANNEL, CAROL, "what was the launch code?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages(CHANNEL, question["ts"], 3)
    assert model.requests[-1].previous_response_id is None
    assert "otter" not in " ".join(text for _role, text in model.requests[-1].context)
