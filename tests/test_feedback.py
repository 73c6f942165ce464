"""Every finished answer carries Slack's feedback buttons; a click is kept per person (last value wins) and counted."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from conftest import ALICE, BOB
from fakes.slack_interactivity import view_submission_payload
from harness import say
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.slack.approval_blocks import FEEDBACK_ACTION, FEEDBACK_INPUT_BLOCK
from bot.state.feedback import Tally

FEEDBACK_LOG = "bot.turn.feedback"


async def eventually(read: Callable[[], Awaitable[str]], seconds: float = 5.0) -> str:
    """What `read` gives once it gives something (the form's text is stored after Slack got its ack)."""
    deadline = time.monotonic() + seconds
    value = await read()
    while not value and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        value = await read()
    return value


def feedback_block(message: dict[str, Any]) -> dict[str, Any]:
    [block] = [b for b in message.get("blocks") or [] if b["type"] == "context_actions"]
    return block


async def test_an_answer_carries_feedback_buttons_and_the_last_vote_of_each_person_counts(bot, slack, model, caplog):
    caplog.set_level(logging.INFO)
    model.reply_with("Paris is the capital of France.")
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's the capital of France?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)
    [buttons] = feedback_block(answer)["elements"]
    assert buttons["type"] == "feedback_buttons"
    response_id = model.last_request.response_id
    assert json.loads(buttons["positive_button"]["value"]) == {
        "vote": "good",
        "model": "gpt-test",
        "response": response_id,
    }

    async def vote(user: str, side: str) -> None:
        answered = await bot.interact(slack.click("C1", answer["ts"], FEEDBACK_ACTION, user=user, feedback=side))
        assert answered.status == 200
        await bot.settled()

    feedback = bot.bot.feedback
    await vote(ALICE, "positive")
    await slack.wait_for(lambda: "Feedback good" in caplog.text)
    await vote(ALICE, "negative")  # she changes her mind: the buttons toggle
    await vote(ALICE, "positive")
    await vote(BOB, "negative")
    await slack.wait_for(lambda: caplog.text.count("Feedback ") >= 4)

    assert await feedback.votes("T0001", "C1", answer["ts"]) == {ALICE: "good", BOB: "bad"}
    tallies = await feedback.tallies("T0001")
    assert tallies.workspace == Tally(good=1, bad=1)
    assert tallies.channels == {"C1": Tally(good=1, bad=1)}
    assert tallies.models == {"gpt-test": Tally(good=1, bad=1)}
    slack.admin.admins.add(BOB)  # the figures feed the admins' usage view
    await bot.send_event({"type": "app_home_opened", "user": BOB, "tab": "home", "event_ts": "1.000001"})
    await slack.wait_for(lambda: BOB in slack.home_views)
    shown = "\n".join(str(b.get("text", {}).get("text", "")) for b in slack.home_views[BOB]["blocks"])
    assert "*Feedback* (current votes): 👍 1  👎 1\n• `gpt-test`: 👍 1  👎 1" in shown

    # One INFO line per click, naming the response; never the answer's words.
    lines = [r.getMessage() for r in caplog.records if r.name == FEEDBACK_LOG]
    assert len(lines) == 4 and all(response_id in line for line in lines)
    assert "Paris" not in caplog.text


async def test_a_thumbs_down_asks_what_went_wrong_and_keeps_the_answer(bot, slack, model):
    model.reply_with("The moon is made of cheese.")
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what is the moon made of?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    await bot.interact(slack.click("C1", answer["ts"], FEEDBACK_ACTION, user=ALICE, feedback="negative"))
    await slack.wait_for(lambda: bool(slack.interactivity.opened_views))
    [form] = slack.interactivity.opened_views
    assert form["type"] == "modal" and form["title"]["text"] == "What went wrong?"

    submitted = view_submission_payload(
        team_id="T0001", user_id=ALICE, view=form, values={FEEDBACK_INPUT_BLOCK: "It's rock, not cheese."}
    )
    answered = await bot.interact(submitted)
    assert answered.status == 200
    feedback = bot.bot.feedback
    comment = await eventually(lambda: feedback.comment_of("T0001", "C1", answer["ts"], ALICE))
    assert comment == "It's rock, not cheese."
    assert await feedback.votes("T0001", "C1", answer["ts"]) == {ALICE: "bad"}


async def test_a_click_over_socket_mode_is_acknowledged_and_counted(start_bot, slack, model):
    bot = await start_bot(slack_app_token="xapp-1-A0001-test")
    handler = AsyncSocketModeHandler(bot.bot.bolt, "xapp-1-A0001-test")
    await handler.connect_async()
    try:
        await asyncio.wait_for(slack.socket_connected.wait(), 30)
        model.reply_with("Paris.")
        question = await say(bot, slack, "C1", ALICE, "<@UBOT> capital of France?")
        [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

        click = slack.click("C1", answer["ts"], FEEDBACK_ACTION, user=ALICE, feedback="positive")
        envelope = {"envelope_id": "env-click", "type": "interactive", "accepts_response_payload": True}
        await slack.socket_send({**envelope, "payload": click})
        await slack.wait_for(lambda: any(a.get("envelope_id") == "env-click" for a in slack.socket_acks))
        votes = await eventually(lambda: _vote_of(bot, answer["ts"], ALICE))
        assert votes == "good"
    finally:
        await handler.close_async()


async def _vote_of(bot: Any, ts: str, user: str) -> str:
    return (await bot.bot.feedback.votes("T0001", "C1", ts)).get(user, "")
