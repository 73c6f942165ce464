"""Slack limits each writing method per workspace; many answers at once share that budget, and a rate limit
on one answer delays only that answer."""

from __future__ import annotations

import asyncio

from conftest import ALICE
from harness import markdown_or_text, say


async def test_thirty_slow_answers_at_once_all_arrive_whole_without_slack_refusing_a_call(bot, slack, model):
    # Slack allows chat.startStream and chat.stopStream about 20 times a minute per workspace (Tier 2).
    model.stream_chunks, model.stream_chunk_delay = 5, 0.3
    channels = [f"C{n}" for n in range(1, 31)]

    questions = await asyncio.gather(
        *(say(bot, slack, channel, ALICE, f"<@UBOT> slow question {n}") for n, channel in enumerate(channels))
    )

    def shown(channel: str, thread_ts: str) -> list[str]:  # a message edited live is there before it is whole
        return [markdown_or_text(m) for m in slack.bot_messages(channel, thread_ts)]

    def all_whole() -> bool:
        return all(
            [text.rsplit(": ", 1)[-1] for text in shown(channel, question["ts"])] == [f"slow question {n}"]
            for n, (channel, question) in enumerate(zip(channels, questions, strict=True))
        )

    await slack.wait_for(all_whole, timeout=30)
    await asyncio.sleep(0.3)  # and nothing more arrives
    assert all_whole()
    assert slack.rate_limited == []  # the bot kept within the workspace's tiers by itself
    assert 0 < len(slack.calls_to("chat.startStream")) <= 20
    assert len(slack.calls_to("chat.startStream")) == len(slack.calls_to("chat.stopStream"))


async def test_a_rate_limited_answer_waits_alone_while_another_keeps_streaming(bot, slack, model):
    model.stream_chunks, model.stream_chunk_delay = 12, 0.3  # about 3.5 s of writing
    slack.rate_limit_next("chat.appendStream", channel="C1", retry_after=2)

    here, there = await asyncio.gather(
        say(bot, slack, "C1", ALICE, "<@UBOT> a long story here please"),
        say(bot, slack, "C2", ALICE, "<@UBOT> a long story there please"),
    )
    [held] = await slack.wait_for_bot_messages("C1", here["ts"], 1, timeout=15)
    [free] = await slack.wait_for_bot_messages("C2", there["ts"], 1, timeout=15)

    assert held["text"].endswith("a long story here please")  # nothing lost: the rest came after the wait
    assert free["text"].endswith("a long story there please")
    [limited] = slack.rate_limited
    after_limit = [c for c in slack.calls if c.at > limited.at and c.method.startswith("chat.")]
    held_writes = [c.at - limited.at for c in after_limit if c.args.get("channel") == "C1"]
    free_appends = [c.at - limited.at for c in after_limit if c.args.get("channel") == "C2"]
    assert held_writes and min(held_writes) >= 1.9  # Slack's Retry-After, for that answer only
    assert any(seconds < min(held_writes) for seconds in free_appends)  # the other answer went on meanwhile
