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
