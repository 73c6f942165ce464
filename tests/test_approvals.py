"""People stay in charge: a tool call that changes things waits for a person's Approve or Reject in the thread."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import ALICE, BOB, all_memory_modes
from fakes.openai_tools import CallTool
from harness import free_port, say
from tool_server import ToolServer

from bot.model.usage import budget_day
from bot.shared import phrases
from bot.slack.approval_blocks import APPROVE_ACTION, REJECT_ACTION
from bot.state.keys import Keys

NEW_TICKET = CallTool("create_ticket", {"title": "Printer on fire", "priority": "high"})


@pytest.fixture
async def tickets() -> AsyncIterator[ToolServer]:
    server = await ToolServer(free_port()).start()
    yield server
    await server.stop()


def approval_config(tmp_path: Path, url: str, *, server_extra: str = "", extra: str = "") -> str:
    path = tmp_path / "agent.toml"
    path.write_text(
        f"""
[mcp_servers.tickets]
url = "{url}"
tools = ["lookup_ticket", "create_ticket"]
approval = ["create_ticket"]
{server_extra}
{extra}
"""
    )
    return str(path)


def quote_tool_output(request: Any) -> str:
    role, output = request.input_texts[-1]
    assert role == "function_call_output"
    return f"Done. {output}" if output.startswith("Created") else f"I did not create it: {output}"


def requests_in(slack: Any, channel: str, thread: str) -> list[dict[str, Any]]:
    """The bot's approval requests in a thread (messages with an actions block)."""
    return [
        m
        for m in slack.bot_messages(channel, thread)
        if any(b.get("type") == "actions" for b in m.get("blocks") or [])
        or "approval" in " ".join(str(b.get("block_id", "")) for b in m.get("blocks") or [])
        or m.get("text", "").startswith(phrases.APPROVAL_REQUEST.format(asker=ALICE, tools="`create_ticket`"))
    ]


async def ask_for_ticket(bot: Any, slack: Any, model: Any) -> tuple[str, dict[str, Any]]:
    """Alice asks for something that needs create_ticket; the bot shows the request and waits."""
    model.reply_with(NEW_TICKET, quote_tool_output)
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> please open a ticket: the printer is on fire")
    thread = str(question["ts"])
    await slack.wait_for(lambda: bool(requests_in(slack, "C1", thread)), timeout=15)
    [request] = requests_in(slack, "C1", thread)
    return thread, request


def answer_after(slack: Any, thread: str) -> dict[str, Any]:
    return slack.bot_messages("C1", thread)[-1]


def request_now(slack: Any, thread: str, request: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in slack.bot_messages("C1", thread) if m["ts"] == request["ts"])


def shows(message: dict[str, Any], text: str) -> bool:
    return text in message.get("text", "") + str(message.get("blocks"))


@all_memory_modes
async def test_an_approved_call_runs_once_and_the_answer_completes(start_bot, slack, model, tickets, tmp_path):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url))
    thread, request = await ask_for_ticket(bot, slack, model)

    # The request shows the tool and its arguments, readably, with Approve and Reject; nothing ran yet.
    assert shows(request, "`create_ticket`") and shows(request, "Printer on fire") and shows(request, "high")
    assert [e["action_id"] for b in request["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        APPROVE_ACTION,
        REJECT_ACTION,
    ]
    assert tickets.calls == []
    assert len(model.requests) == 1

    answer = await bot.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE))
    assert answer.status == 200
    await slack.wait_for(lambda: tickets.calls == ["create_ticket"], timeout=15)
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)  # progress, the request, the answer
    reply = answer_after(slack, thread)

    assert reply["text"].startswith("Done. Created ticket T-101: Printer on fire (high).")
    decided = request_now(slack, thread, request)
    assert shows(decided, f"<@{ALICE}> approved")  # the buttons gave way to the decision
    assert not any(b["type"] == "actions" for b in decided["blocks"])
    assert any(b["type"] == "context_actions" for b in reply["blocks"])  # the finished answer carries feedback
    asked, answered = model.requests
    # The run went on from where it stopped: the model got its own call and the tool's output, once.
    assert answered.context[-2:] == [
        ("function_call", 'create_ticket({"title": "Printer on fire", "priority": "high"})'),
        ("function_call_output", "Created ticket T-101: Printer on fire (high)."),
    ]
    assert answered.context[:1] == asked.context[:1]  # the question
    await bot.settled()

    # The conversation remembers the whole turn: the next message chains from the answer.
    model.reply_with("You're welcome.")
    await say(bot, slack, "C1", ALICE, "thanks!", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 4, timeout=15)
    assert ("function_call_output", "Created ticket T-101: Printer on fire (high).") in model.last_request.context
    assert tickets.calls == ["create_ticket"]


async def test_a_rejected_call_never_runs_and_the_answer_says_so(start_bot, slack, model, tickets, tmp_path):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url))
    thread, request = await ask_for_ticket(bot, slack, model)

    await bot.interact(slack.click("C1", request["ts"], REJECT_ACTION, user=ALICE))
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)

    assert answer_after(slack, thread)["text"].startswith("I did not create it: The person in charge rejected")
    assert tickets.calls == []
    assert shows(request_now(slack, thread, request), f"<@{ALICE}> rejected")


async def test_a_request_nobody_decides_expires(start_bot, slack, model, tickets, tmp_path):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url), approval_timeout_seconds=1.0)
    thread, request = await ask_for_ticket(bot, slack, model)
    late_click = slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE)  # Alice's screen still shows it

    expired = phrases.APPROVAL_EXPIRED.format(tools="`create_ticket`")
    await slack.wait_for(lambda: shows(request_now(slack, thread, request), expired), timeout=15)
    assert not any(b["type"] == "actions" for b in request_now(slack, thread, request)["blocks"])

    # A late click changes nothing: the person is told, the tool never runs.
    await bot.interact(late_click)
    await slack.wait_for(lambda: any("already decided" in e.get("text", "") for e in slack.ephemerals))
    await bot.settled()
    assert tickets.calls == []
    assert len(model.requests) == 1

    # The conversation is free again: the next message is answered as usual.
    model.reply_with("Sure, what's up?")
    await say(bot, slack, "C1", ALICE, "never mind, something else", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)
    assert answer_after(slack, thread)["text"] == "Sure, what's up?"


async def test_a_click_from_someone_else_is_refused(start_bot, slack, model, tickets, tmp_path):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url))
    thread, request = await ask_for_ticket(bot, slack, model)

    await bot.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=BOB))
    await slack.wait_for(lambda: bool(slack.ephemerals))
    [refusal] = slack.ephemerals
    assert refusal["user"] == BOB
    assert refusal["text"] == phrases.APPROVAL_NOT_YOURS.format(who=f"<@{ALICE}>")
    await bot.settled()
    assert tickets.calls == []
    assert shows(request_now(slack, thread, request), "Approve")  # still open for Alice

    await bot.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE))
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)
    assert tickets.calls == ["create_ticket"]


async def test_approvers_of_a_server_may_decide_for_the_asker(start_bot, slack, model, tickets, tmp_path):
    slack.admin.add_group("SOPS", [BOB])
    config = approval_config(tmp_path, tickets.url, server_extra='approvers = ["SOPS"]')
    bot = await start_bot(agent_config=config)
    thread, request = await ask_for_ticket(bot, slack, model)
    assert shows(request, "<!subteam^SOPS>")

    await bot.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=BOB))  # Bob is in the group
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)
    assert tickets.calls == ["create_ticket"]
    assert shows(request_now(slack, thread, request), f"<@{BOB}> approved")


async def test_a_message_sent_while_a_request_waits_is_told_so(start_bot, slack, model, tickets, tmp_path):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url))
    thread, request = await ask_for_ticket(bot, slack, model)

    await say(bot, slack, "C1", ALICE, "and also, what's for lunch?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)
    assert answer_after(slack, thread)["text"] == phrases.APPROVAL_PENDING.format(tools="`create_ticket`")
    assert len(model.requests) == 1  # not answered from a memory that is about to change

    await bot.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE))
    await slack.wait_for_bot_messages("C1", thread, 4, timeout=15)
    assert tickets.calls == ["create_ticket"]


async def test_a_request_is_resumed_after_a_restart_by_another_process(start_bot, slack, model, tickets, tmp_path):
    config = approval_config(tmp_path, tickets.url)
    first = await start_bot(agent_config=config)
    thread, request = await ask_for_ticket(first, slack, model)
    await first.settled()
    await first.stop()  # the process that paused the run is gone

    second = await start_bot(agent_config=config)
    await second.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE))
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)

    assert answer_after(slack, thread)["text"].startswith("Done. Created ticket T-101")
    assert tickets.calls == ["create_ticket"]


async def test_two_clicks_at_once_on_two_processes_run_the_tool_once(
    start_bot, slack, model, tickets, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    config = approval_config(tmp_path, tickets.url)
    first = await start_bot(agent_config=config)
    second = await start_bot(agent_config=config)
    thread, request = await ask_for_ticket(first, slack, model)

    click = slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE)
    answers = await asyncio.gather(first.interact(click), second.interact(click), first.interact(click))
    assert [a.status for a in answers] == [200, 200, 200]
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)
    await first.settled()
    await second.settled()

    assert tickets.calls == ["create_ticket"]
    assert len(slack.bot_messages("C1", thread)) == 3  # the progress, the request and one answer
    assert len(model.requests) == 2


async def test_a_click_without_slack_signature_is_refused(start_bot, slack, model, tickets, tmp_path):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url))
    _thread, request = await ask_for_ticket(bot, slack, model)

    click = slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE)
    answer = await bot.post(
        urlencode({"payload": json.dumps(click)}), content_type="application/x-www-form-urlencoded", signed=False
    )
    assert answer.status == 401
    await bot.settled()
    assert tickets.calls == []


async def test_on_a_redis_cluster_approval_and_feedback_work_across_slots(
    start_bot, slack, model, tickets, tmp_path, cluster
):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url), redis_url=cluster.url)
    thread, request = await ask_for_ticket(bot, slack, model)
    await bot.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE))
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)
    answer = answer_after(slack, thread)
    assert tickets.calls == ["create_ticket"]

    feedback = bot.bot.feedback

    async def vote_then_wait(side: str, good: int, bad: int) -> None:
        await bot.interact(slack.click("C1", answer["ts"], "answer_feedback", user=ALICE, feedback=side))
        for _ in range(250):  # the vote is stored after Slack got its ack
            tally = (await feedback.tallies("T0001")).workspace
            if (tally.good, tally.bad) == (good, bad):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"tallies stayed at {tally}")

    await vote_then_wait("negative", 0, 1)
    await vote_then_wait("positive", 1, 0)
    assert len(slack.interactivity.opened_views) == 1  # the thumbs-down asked what went wrong


async def test_a_thread_reset_while_a_request_waits_is_not_undone_by_the_resumed_answer(
    start_bot, slack, model, tickets, tmp_path
):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url))
    thread, request = await ask_for_ticket(bot, slack, model)
    await say(bot, slack, "C1", ALICE, "<@UBOT> reset", thread_ts=thread)
    await slack.wait_for(lambda: any(e.get("text") == phrases.RESET_THREAD for e in slack.ephemerals))

    await bot.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE))
    await slack.wait_for_bot_messages("C1", thread, 3, timeout=15)
    resumed = model.last_request
    await bot.settled()
    # Not remembered, but spent: the tokens of the turn, paused and resumed, count toward Alice's day.
    day_key = Keys(bot.bot.settings.redis_prefix, hash_tags=False).usage_day(bot.team_id, budget_day(thread))
    spent = int(await bot.bot.guard.client.hget(day_key, f"t:u:{ALICE}") or 0)
    assert spent == sum(r.usage["input_tokens"] + r.usage["output_tokens"] for r in model.requests[:2]) > 0

    model.reply_with("Fresh start.")
    await say(bot, slack, "C1", ALICE, "what did I ask before?", thread_ts=thread)
    await slack.wait_for_bot_messages("C1", thread, 4, timeout=15)
    assert model.last_request.previous_response_id != resumed.response_id  # the reset holds
    assert ("function_call", 'create_ticket({"title": "Printer on fire", "priority": "high"})') not in (
        model.last_request.context
    )


async def test_a_resumed_turn_can_still_keep_a_long_term_note(start_bot, slack, model, tickets, tmp_path):
    bot = await start_bot(agent_config=approval_config(tmp_path, tickets.url))
    model.reply_with(
        NEW_TICKET,
        CallTool("remember", {"note": "files printer tickets as high priority", "about": "me"}),
        "Done, and noted.",
    )
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> open a ticket for the printer, and remember I do this")
    thread = str(question["ts"])
    await slack.wait_for(lambda: bool(requests_in(slack, "C1", thread)), timeout=15)
    [request] = requests_in(slack, "C1", thread)

    await bot.interact(slack.click("C1", request["ts"], APPROVE_ACTION, user=ALICE))
    await slack.wait_for(lambda: answer_after(slack, thread)["text"].startswith("Done, and noted."), timeout=15)
    await bot.settled()

    # The note tool worked after the pause, and the bot said so under the answer.
    assert answer_after(slack, thread)["text"].endswith("Memory updated: files printer tickets as high priority")
    assert "An error occurred" not in str(model.last_request.context)
