"""Pointed at one node of a Redis Cluster, the bot remembers, orders and de-duplicates as on one Redis."""

from __future__ import annotations

import asyncio
import logging

from conftest import ALICE, BOB
from harness import say


def _said(context: list[tuple[str, str]]) -> list[str]:
    return [text.split(": ", 1)[1] for role, text in context if role == "user"]


async def test_on_a_cluster_the_bot_is_healthy_and_remembers_threads_across_a_restart(
    start_bot, slack, model, cluster, caplog
):
    caplog.set_level(logging.WARNING)
    first = await start_bot(redis_url=cluster.url)
    assert (await first.health())["redis"] is True
    threads = {}
    for channel in ("C1", "C2", "C3", "D1"):  # channels whose keys live on different nodes
        question = await say(first, slack, channel, ALICE, f"<@UBOT> in {channel} the word is {channel.lower()}")
        threads[channel] = None if channel.startswith("D") else question["ts"]
        await slack.wait_for_bot_messages(channel, threads[channel], 1)
    await first.settled()
    remembered = {r.last_user_text: r.response_id for r in model.requests}
    await first.stop()

    second = await start_bot(redis_url=cluster.url)
    assert (await second.health())["redis"] is True
    for channel, thread in threads.items():
        await say(second, slack, channel, BOB, "which word?", thread_ts=thread)  # no mention: still its thread
        await slack.wait_for_bot_messages(channel, thread, 2)
        [asked] = [r for r in remembered if f"in {channel} the word" in r]
        assert model.requests[-1].previous_response_id == remembered[asked]  # chained, not rebuilt
    assert not [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]


async def test_on_a_cluster_a_thread_spread_over_two_processes_gets_one_answer_per_message_in_order(
    start_bot, slack, model, cluster
):
    first, second = await start_bot(redis_url=cluster.url), await start_bot(redis_url=cluster.url)
    root = slack.post_user_message("C7", ALICE, "<@UBOT> let's count birds")
    thread = root["ts"]
    model.hold_next()  # the first answer takes a while, so the follow-ups pile up on both processes
    await first.send_event(root, event_id="EvROOT")
    await second.mention(root)
    await slack.wait_for(lambda: model.waiting == 1)
    follow_ups = []
    for n, bird in enumerate(["owl", "jay", "tit", "emu"]):
        message = slack.post_user_message("C7", BOB, f"one {bird}", thread_ts=thread)
        follow_ups.append(message["text"])
        receiver, other = (first, second) if n % 2 else (second, first)
        await receiver.send_event(message, event_id=f"Ev{n}")
        await other.send_event(message, event_id=f"Ev{n}", retry_num=1)  # Slack retried it elsewhere
    model.release()

    answers = await slack.wait_for_bot_messages("C7", thread, 5)
    await asyncio.sleep(0.3)
    assert len(slack.bot_messages("C7", thread)) == 5  # one per message, none twice
    assert [a["text"].rsplit(": ", 1)[1] for a in answers] == ["let's count birds", *follow_ups]
    for earlier, later in zip(model.requests, model.requests[1:], strict=False):
        assert later.previous_response_id == earlier.response_id  # one unforked chain
    assert _said(model.full_context_of(model.requests[-1].response_id)) == ["let's count birds", *follow_ups]


async def test_on_a_cluster_slash_reset_is_honoured_by_a_rebuild(start_bot, slack, model, cluster):
    bot = await start_bot(redis_url=cluster.url)
    question = await say(bot, slack, "C9", ALICE, "<@UBOT> the secret is banana")
    await slack.wait_for_bot_messages("C9", question["ts"], 1)

    response = await bot.command("/reset", channel_id="C9", user_id=ALICE, response_url=slack.response_url())
    assert response.status == 200
    model.forget_all()
    await say(bot, slack, "C9", ALICE, "what is the secret?", thread_ts=question["ts"])

    await slack.wait_for_bot_messages("C9", question["ts"], 2)
    assert "banana" not in " ".join(_said(model.requests[-1].context))


async def test_on_a_cluster_local_memory_keeps_each_threads_transcript(start_bot, slack, model, cluster):
    bot = await start_bot(redis_url=cluster.url, memory_mode="local")
    threads = {}
    for channel in ("C1", "C2", "C3"):  # conversations whose keys live on different nodes
        question = await say(bot, slack, channel, ALICE, f"<@UBOT> in {channel} the word is {channel.lower()}")
        threads[channel] = question["ts"]
        await slack.wait_for_bot_messages(channel, threads[channel], 1)
    await bot.settled()

    for channel, thread in threads.items():
        [answer] = slack.bot_messages(channel, thread)
        await say(bot, slack, channel, BOB, "which word?", thread_ts=thread)  # no mention: still its thread
        await slack.wait_for_bot_messages(channel, thread, 2)
        assert model.requests[-1].context == [  # the earlier turns, from the transcript
            ("user", f"alice (<@UALICE>): in {channel} the word is {channel.lower()}"),
            ("assistant", answer["text"]),
            ("user", "bob (<@UBOB>): which word?"),
        ]
    assert slack.calls_to("conversations.replies") == []  # remembered, not rebuilt from Slack


async def test_on_a_cluster_local_memory_counts_each_persons_tokens(start_bot, slack, model, cluster):
    bot = await start_bot(redis_url=cluster.url, memory_mode="local", daily_token_budget_per_user=100)
    question = await say(bot, slack, "C5", ALICE, "<@UBOT> what's our deploy checklist?")
    await slack.wait_for_bot_messages("C5", question["ts"], 1)  # the instructions alone are over 100 tokens

    await say(bot, slack, "C5", ALICE, "and the rollback plan?", thread_ts=question["ts"])

    answers = await slack.wait_for_bot_messages("C5", question["ts"], 2)
    assert "resets at midnight UTC" in answers[-1]["text"]
    assert len(model.requests) == 1


async def test_on_a_cluster_a_reset_in_local_memory_leaves_its_note_and_forgets_the_transcript(
    start_bot, slack, model, cluster
):
    bot = await start_bot(redis_url=cluster.url, memory_mode="local")
    question = await say(bot, slack, "C4", ALICE, "<@UBOT> the secret is banana")
    thread = question["ts"]
    await slack.wait_for_bot_messages("C4", thread, 1)
    await say(bot, slack, "C4", ALICE, "got it?", thread_ts=thread)
    await slack.wait_for_bot_messages("C4", thread, 2)
    assert "banana" in " ".join(_said(model.requests[-1].context))
    assert slack.calls_to("conversations.replies") == []  # the transcript was there to forget
    await bot.settled()

    chosen = slack.messages("C4", thread)[-1]
    await bot.shortcut("reset_thread", channel_id="C4", user_id=BOB, message=chosen, response_url=slack.response_url())
    await slack.wait_for_bot_messages("C4", thread, 3)
    assert slack.bot_messages("C4", thread)[-1]["text"].startswith("<@UBOB> cleared my memory of this thread.")

    await say(bot, slack, "C4", ALICE, "what is the secret?", thread_ts=thread)
    await slack.wait_for_bot_messages("C4", thread, 4)
    assert model.requests[-1].context == [("user", "alice (<@UALICE>): what is the secret?")]


async def test_on_a_cluster_budgets_the_usage_view_and_the_access_note_work_as_on_one_redis(
    tmp_path, start_bot, slack, model, cluster
):
    config = tmp_path / "agent.toml"
    config.write_text('[access]\nchannels = ["C1"]\n')
    slack.admin.admins.add(ALICE)
    bot = await start_bot(redis_url=cluster.url, agent_config=str(config), daily_token_budget_per_channel=100)
    answered = await say(bot, slack, "C1", ALICE, "<@UBOT> what's the plan?")
    await slack.wait_for_bot_messages("C1", answered["ts"], 1)
    await bot.settled()

    over = await say(bot, slack, "C1", BOB, "<@UBOT> and mine?")
    await say(bot, slack, "C2", BOB, "<@UBOT> here?")
    await say(bot, slack, "C2", BOB, "<@UBOT> here again?")

    [note] = await slack.wait_for_bot_messages("C1", over["ts"], 1)
    assert note["text"].startswith("This channel has used its share")
    await slack.wait_for(lambda: len(slack.ephemerals) == 1)
    await bot.send_event({"type": "app_home_opened", "user": ALICE, "tab": "home", "event_ts": "1.000001"})
    await slack.wait_for(lambda: ALICE in slack.home_views)
    view = "\n".join(str(b.get("text", {}).get("text", "")) for b in slack.home_views[ALICE]["blocks"])
    usage = model.requests[0].usage
    assert f"• <@{ALICE}>: {usage['input_tokens'] + usage['output_tokens']:,} tokens" in view
    await bot.settled()
    assert len(model.requests) == 1 and len(slack.ephemerals) == 1
