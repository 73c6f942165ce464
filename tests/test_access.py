"""An admin limits who may use the bot and where (`[access]` in agent.toml): people outside are told once a day,
the bot stays silent in channels off the list, and nothing of theirs reaches the model."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis
from conftest import ALICE, BOB
from harness import say

from bot.listeners.shortcuts import SUMMARIZE_CALLBACK_ID
from bot.model.config import AgentConfigError, load_agent_config
from bot.model.operating_config import AccessConfig
from bot.shared import phrases
from bot.turn.access import decide

CAROL = "UCAROL"


def access_toml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "agent.toml"
    path.write_text("[access]\n" + text)
    return str(path)


async def test_a_person_outside_the_allowed_group_is_told_once_and_nothing_reaches_the_model(
    tmp_path, start_bot, slack, model
):
    slack.admin.add_group("S0ENG", [ALICE])
    bot = await start_bot(agent_config=access_toml(tmp_path, 'people = ["S0ENG"]\n'))

    first = await say(bot, slack, "C1", BOB, "<@UBOT> what's the deploy checklist?")
    second = await say(bot, slack, "C1", BOB, "<@UBOT> hello? anyone?")
    allowed = await say(bot, slack, "C1", ALICE, "<@UBOT> what's the deploy checklist?")

    await slack.wait_for_bot_messages("C1", allowed["ts"], 1)
    await bot.settled()
    notes = [e for e in slack.ephemerals if e.get("user") == BOB]
    assert [n["text"] for n in notes] == [phrases.NOT_FOR_YOU]  # once, though both mentions came twice
    assert notes[0]["channel"] == "C1" and notes[0]["thread_ts"] in (first["ts"], second["ts"])
    assert slack.bot_messages("C1", first["ts"]) == [] and slack.bot_messages("C1", second["ts"]) == []
    assert [r.last_user_text for r in model.requests] == ["alice (<@UALICE>): what's the deploy checklist?"]
    assert len(slack.calls_to("usergroups.users.list")) == 1  # the members are kept, not asked per message


async def test_a_channel_off_the_list_is_silent_and_its_threads_are_never_joined(
    tmp_path, start_bot, slack, model, redis_url
):
    bot = await start_bot(agent_config=access_toml(tmp_path, 'channels = ["C1"]\n'))

    question = await say(bot, slack, "C2", ALICE, "<@UBOT> can you help here?")
    await say(bot, slack, "C2", ALICE, "please?", thread_ts=question["ts"])
    await say(bot, slack, "C2", ALICE, "<@UBOT> really, please?", thread_ts=question["ts"])
    elsewhere = await say(bot, slack, "C1", ALICE, "<@UBOT> and here?")

    await slack.wait_for_bot_messages("C1", elsewhere["ts"], 1)
    await bot.settled()
    assert slack.bot_messages("C2", question["ts"]) == []
    assert [e["text"] for e in slack.ephemerals] == [phrases.NOT_IN_THIS_CHANNEL]  # one note a day there
    assert len(model.requests) == 1
    redis = aioredis.Redis.from_url(redis_url)
    try:
        prefix = bot.bot.settings.redis_prefix
        assert [k async for k in redis.scan_iter(match=f"{prefix}:*:thread:C2:*")] == []  # not part of it
        assert [k async for k in redis.scan_iter(match=f"{prefix}:*:thread:C1:*")] != []
    finally:
        await redis.aclose()


async def test_closed_direct_messages_get_a_note_and_no_answer(tmp_path, start_bot, slack, model):
    bot = await start_bot(agent_config=access_toml(tmp_path, "dms = false\n"))

    await say(bot, slack, "D1", ALICE, "hi there")
    await say(bot, slack, "D1", ALICE, "hello?")
    in_channel = await say(bot, slack, "C1", ALICE, "<@UBOT> hi")

    await slack.wait_for_bot_messages("C1", in_channel["ts"], 1)
    await bot.settled()
    assert [e["text"] for e in slack.ephemerals] == [phrases.NO_DIRECT_MESSAGES]
    assert slack.bot_messages("D1") == []
    assert len(model.requests) == 1


async def test_closed_direct_messages_close_the_assistant_pane_too(tmp_path, start_bot, slack, model):
    bot = await start_bot(agent_config=access_toml(tmp_path, "dms = false\n"))
    root = slack.post_user_message("D1", ALICE, "New chat", subtype="assistant_app_thread")
    opened = {"user_id": ALICE, "channel_id": "D1", "thread_ts": root["ts"], "context": {}}
    await bot.send_event({"type": "assistant_thread_started", "assistant_thread": opened, "event_ts": root["ts"]})
    # The agent messaging experience's Messages tab offers no prompts either.
    await bot.send_event({"type": "app_home_opened", "user": ALICE, "channel": "D1", "tab": "messages"})

    await say(bot, slack, "D1", ALICE, "what's the capital of France?", thread_ts=root["ts"])

    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    await bot.settled()
    assert slack.ephemerals[0]["text"] == phrases.NO_DIRECT_MESSAGES
    assert slack.bot_messages("D1", root["ts"]) == []  # no greeting, no answer
    assert slack.suggested_prompts == [] and model.requests == []


async def test_a_group_slack_will_not_list_lets_nobody_in_through_it(tmp_path, start_bot, slack, model):
    slack.granted_scopes.remove("usergroups:read")
    slack.admin.add_group("S0ENG", [ALICE])
    bot = await start_bot(agent_config=access_toml(tmp_path, f'people = ["S0ENG", "{BOB}"]\n'))

    refused = await say(bot, slack, "C1", ALICE, "<@UBOT> am I in?")
    named = await say(bot, slack, "C1", BOB, "<@UBOT> and me?")

    await slack.wait_for_bot_messages("C1", named["ts"], 1)
    await bot.settled()
    assert slack.bot_messages("C1", refused["ts"]) == []
    assert [e["user"] for e in slack.ephemerals] == [ALICE]
    await say(bot, slack, "C2", ALICE, "<@UBOT> and here?")
    await slack.wait_for(lambda: len(slack.ephemerals) == 2)  # another place: told there too
    assert len(slack.calls_to("usergroups.users.list")) == 1  # not asked again for every message


def test_the_decision_denies_first_then_dms_then_channels_then_people():
    rules = AccessConfig(channels=frozenset({"C1"}), people=frozenset({ALICE}), deny=frozenset({BOB}), dms=False)

    def verdict(user: str, channel: str, members: frozenset[str] = frozenset()) -> str:
        return decide(rules, user_id=user, channel_id=channel, is_dm=channel.startswith("D"), group_members=members)

    assert verdict(ALICE, "C1") == "allowed"
    assert verdict(BOB, "C1", frozenset({BOB})) == "person"  # denied, whatever group he is in
    assert verdict(ALICE, "D1") == "dms"
    assert verdict(ALICE, "C2") == "channel"
    assert verdict(CAROL, "C1") == "person"
    assert verdict(CAROL, "C1", frozenset({CAROL})) == "allowed"
    assert decide(AccessConfig(), user_id=CAROL, channel_id="D9", is_dm=True) == "allowed"


def test_mistakes_in_the_access_and_prices_sections_are_named_one_a_line(tmp_path):
    path = tmp_path / "agent.toml"
    path.write_text(
        '[access]\nchannels = ["general"]\npeople = ["U0ALICE", "alice"]\ndms = "no"\nwho = 1\n'
        "[prices.gpt-test]\ninput = -1\nouput = 2\n"
    )

    with pytest.raises(AgentConfigError) as caught:
        load_agent_config(str(path), {})

    assert sorted(caught.value.lines) == sorted(
        [
            "[access]: unknown key 'who' (known: channels, deny, dms, people)",
            "[access]: channels has 'general', which is not a channel id (like C0123ABCD)",
            "[access]: people has 'alice', which is not a user or user group id (like U0123ABCD or S0123ABCD)",
            "[access]: dms must be true or false",
            '[prices."gpt-test"]: input must be a number of dollars per million tokens, at least 0',
            "[prices.\"gpt-test\"]: unknown key 'ouput' (known: cached, input, output)",
        ]
    )


async def test_someone_denied_cannot_make_the_bot_forget_a_channel_or_a_thread(tmp_path, start_bot, slack, model):
    bot = await start_bot(agent_config=access_toml(tmp_path, f'deny = ["{BOB}"]\n'))
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> the secret word is banana")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)

    response = await bot.command("/reset", channel_id="C1", user_id=BOB, response_url=slack.response_url())
    assert response.status == 200 and phrases.NOT_FOR_YOU in response.text

    await say(bot, slack, "C1", ALICE, "what was the secret word?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert model.requests[-1].previous_response_id == model.requests[0].response_id  # still remembered


@pytest.mark.parametrize(
    ("rules", "who", "note"),
    [
        ('channels = ["C1"]\n', ALICE, phrases.NOT_IN_THIS_CHANNEL),  # a thread of a channel off the list
        (f'deny = ["{BOB}"]\n', BOB, phrases.NOT_FOR_YOU),
        ("dms = false\n", ALICE, phrases.NO_DIRECT_MESSAGES),  # the summary would be answered in a DM
    ],
)
async def test_the_summary_shortcut_follows_the_rules_too(tmp_path, start_bot, slack, model, rules, who, note):
    bot = await start_bot(agent_config=access_toml(tmp_path, rules))
    root = slack.post_user_message("C2", CAROL, "Should we move the offsite to May?")
    slack.post_user_message("C2", CAROL, "Booked the venue for May 12.", thread_ts=root["ts"])

    await bot.shortcut(
        SUMMARIZE_CALLBACK_ID, channel_id="C2", user_id=who, message=root, response_url=slack.response_url()
    )

    await slack.wait_for(lambda: bool(slack.ephemerals))
    await bot.settled()
    assert [e["text"] for e in slack.ephemerals] == [note]
    assert slack.bot_messages(f"D{who[1:]}") == [] and model.requests == []
