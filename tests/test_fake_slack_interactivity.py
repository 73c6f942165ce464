"""The fake Slack's interactivity is as strict as Block Kit's and the methods' reference pages."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack.approval_blocks import FEEDBACK_ACTION, feedback_blocks, feedback_form, request_blocks


async def refused(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def test_feedback_buttons_need_both_sides_with_text_and_value(client):
    good = feedback_blocks(model="m", response_id="resp_1")
    await client.chat_postMessage(channel="C1", text="answer", blocks=good)

    one_sided = [{"type": "context_actions", "elements": [{**good[0]["elements"][0], "negative_button": None}]}]
    assert await refused(client.chat_postMessage(channel="C1", text="x", blocks=one_sided)) == "invalid_blocks"
    too_long = {"text": {"type": "plain_text", "text": "👍" * 76}, "value": "v"}
    wordy = [{"type": "context_actions", "elements": [{**good[0]["elements"][0], "positive_button": too_long}]}]
    assert await refused(client.chat_postMessage(channel="C1", text="x", blocks=wordy)) == "invalid_blocks"
    six = [{"type": "context_actions", "elements": good[0]["elements"] * 6}]
    assert await refused(client.chat_postMessage(channel="C1", text="x", blocks=six)) == "invalid_blocks"
    stranger = [
        {"type": "context_actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "x"}}]}
    ]
    assert await refused(client.chat_postMessage(channel="C1", text="x", blocks=stranger)) == "invalid_blocks"


async def test_buttons_have_a_known_style(client):
    blocks = request_blocks(
        approval_id="a1",
        asker="UALICE",
        calls=[{"tool": "t", "server": "", "arguments": "{}"}],
        who="<@UALICE>",
        expires_at=time.time(),
    )
    await client.chat_postMessage(channel="C1", text="may I?", blocks=blocks)
    blocks[-1]["elements"][0]["style"] = "green"
    assert await refused(client.chat_postMessage(channel="C1", text="x", blocks=blocks)) == "invalid_blocks"


async def test_a_click_carries_the_value_of_the_side_clicked(fake, client):
    posted = await client.chat_postMessage(
        channel="C1", text="answer", blocks=feedback_blocks(model="m", response_id="r")
    )
    click = fake.click("C1", posted["ts"], FEEDBACK_ACTION, user="UALICE", feedback="negative")
    [action] = click["actions"]
    assert (click["type"], action["type"], action["action_id"]) == (
        "block_actions",
        "feedback_buttons",
        FEEDBACK_ACTION,
    )
    assert '"vote":"bad"' in action["value"]
    assert click["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    with pytest.raises(AssertionError):  # nobody can click what the message does not show
        fake.click("C1", posted["ts"], "approval_approve", user="UALICE")


async def test_views_open_needs_a_fresh_trigger_and_a_modal(fake, client):
    form = feedback_form(private_metadata="{}")
    fresh = f"{int(time.time())}.1.abc"
    opened = await client.views_open(trigger_id=fresh, view=form)
    assert opened["view"]["callback_id"] == form["callback_id"]
    stale = f"{int(time.time()) - 60}.1.abc"
    assert await refused(client.views_open(trigger_id=stale, view=form)) == "expired_trigger_id"
    no_submit = {k: v for k, v in form.items() if k != "submit"}
    assert await refused(client.views_open(trigger_id=fresh, view=no_submit)) == "invalid_arguments"
