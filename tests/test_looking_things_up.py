"""The agent looks things up: an MCP server's tools and OpenAI's web search, with progress and sources in Slack."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from agents import Agent, OpenAIChatCompletionsModel
from conftest import ALICE
from fakes.openai_tools import CallTool, Citation, SearchTheWeb
from harness import free_port, say
from tool_server import TICKETS, ToolServer

from bot.model.config import AgentConfig, configured_mcp_servers
from bot.model.mcp_servers import probe
from bot.model.tools import AgentTools
from bot.shared import phrases

TOOL_LOG = "bot.model.tool_progress"
TICKETS_LINE = TICKETS["T-42"]


@pytest.fixture
async def tickets() -> AsyncIterator[ToolServer]:
    server = await ToolServer(free_port()).start()
    yield server
    await server.stop()


def agent_toml(tmp_path: Path, text: str) -> str:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return str(path)


def tickets_config(tmp_path: Path, url: str, *, top: str = "", extra: str = "", timeout: float = 5) -> str:
    return agent_toml(
        tmp_path,
        f"""{top}
[mcp_servers.tickets]
url = "{url}"
headers = {{ Authorization = "Bearer ${{TICKETS_TOKEN}}" }}
tools = ["lookup_ticket", "slow_lookup", "flaky_lookup"]
timeout = {timeout}
{extra}
""",
    )


def echo_tool_output(request) -> str:
    """The model's second answer quotes what the tool returned."""
    role, output = request.input_texts[-1]
    assert role == "function_call_output"
    return f"Here is what I found. {output}"


@pytest.fixture
def start_bot(start_bot):
    """These stories are about MCP servers and web search: the long-term memory tools are off here."""

    async def start(**overrides):
        return await start_bot(**{"long_term_memory": False, **overrides})

    return start


@pytest.fixture(autouse=True)
def tickets_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETS_TOKEN", "secret-ticket-token")


async def test_a_question_about_a_ticket_is_answered_from_the_mcp_tool_with_progress_in_the_thread(
    start_bot, slack, model, tickets, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    bot = await start_bot(agent_config=tickets_config(tmp_path, tickets.url))
    model.reply_with(CallTool("lookup_ticket", {"ticket_id": "T-42"}), echo_tool_output)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's going on with T-42?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    assert answer["text"] == f"Here is what I found. {TICKETS_LINE}"
    assert tickets.calls == ["lookup_ticket"]
    assert "Bearer secret-ticket-token" in tickets.authorizations  # the header's ${TICKETS_TOKEN}, filled in
    asked, answered = model.requests
    assert sorted(asked.tool_names) == [
        "flaky_lookup",
        "lookup_ticket",
        "slow_lookup",
    ]  # the allow-list: add_note is not offered
    assert answered.input_texts[-2:] == [  # the call and the tool's output went back to the model in the same run
        ("function_call", 'lookup_ticket({"ticket_id": "T-42"})'),
        ("function_call_output", TICKETS_LINE),
    ]
    assert [(t["title"], t["status"]) for t in slack.tasks("C1", answer["ts"])] == [
        ("Calling `lookup_ticket`…", "complete")
    ]
    [start] = slack.calls_to("chat.startStream")
    assert start.args["task_display_mode"] == "timeline"
    assert start.args["chunks"][0]["status"] == "in_progress"  # shown while the tool ran

    # One line per tool call at INFO, without the arguments (which could hold secrets).
    [line] = [r.getMessage() for r in caplog.records if r.name == TOOL_LOG]
    assert line.startswith("Tool lookup_ticket in ") and ": ok after " in line
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and "T-42" in r.getMessage()]
    assert "secret-ticket-token" not in caplog.text

    # The next turn chains from the run's last response: the whole exchange, tool call included, is remembered.
    await say(bot, slack, "C1", ALICE, "who owns it again?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert model.requests[-1].previous_response_id == answered.response_id
    assert ("function_call_output", TICKETS_LINE) in model.requests[-1].context


async def test_a_channel_section_sets_model_and_instructions_and_turns_the_tools_off_there(
    start_bot, slack, model, tickets, tmp_path
):
    extra = """
[channels.CSUPPORT]
model = "gpt-support"
instructions = "Answer in French."
mcp_servers = []
"""
    bot = await start_bot(agent_config=tickets_config(tmp_path, tickets.url, extra=extra))

    question = await say(bot, slack, "CSUPPORT", ALICE, "<@UBOT> what's going on with T-42?")
    await slack.wait_for_bot_messages("CSUPPORT", question["ts"], 1)
    in_support = model.last_request
    other = await say(bot, slack, "C1", ALICE, "<@UBOT> and here?")
    await slack.wait_for_bot_messages("C1", other["ts"], 1)
    in_c1 = model.last_request

    assert (in_support.tool_names, in_support.model) == ([], "gpt-support")
    assert in_support.instructions is not None and in_support.instructions.endswith("Answer in French.")
    assert (sorted(in_c1.tool_names), in_c1.model) == (["flaky_lookup", "lookup_ticket", "slow_lookup"], "gpt-test")
    assert "French" not in (in_c1.instructions or "")


async def test_a_web_search_answer_lists_its_sources_under_it(start_bot, slack, model, tmp_path):
    bot = await start_bot(agent_config=agent_toml(tmp_path, "web_search = true\n"))
    text = "Slack added task updates to chat streaming in 2026. They show each step as it runs."
    model.reply_with(
        SearchTheWeb(
            text,
            citations=(
                Citation("https://docs.slack.dev/changelog", "Slack changelog", "Slack added task updates"),
                Citation("https://docs.slack.dev/streaming", "Streaming [guide]", "each step as it runs"),
            ),
            query="slack chat streaming task updates",
        )
    )

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's new in Slack streaming?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    assert model.last_request.tool_names == ["web_search"]
    assert answer["text"].startswith(text)
    assert answer["text"].endswith(
        "**Sources**\n"
        "1. [Slack changelog](https://docs.slack.dev/changelog)\n"
        "2. [Streaming (guide)](https://docs.slack.dev/streaming)"
    )
    [search] = slack.tasks("C1", answer["ts"])
    assert (search["title"], search["status"]) == ("Searching the web…", "complete")
    assert [(s["url"], s["text"]) for s in search["sources"]] == [  # the task shows the pages it found
        ("https://docs.slack.dev/changelog", "Slack changelog"),
        ("https://docs.slack.dev/streaming", "Streaming (guide)"),
    ]


async def test_without_chat_streaming_the_thread_shows_a_status_line_while_the_tool_runs(
    start_bot, slack, model, tickets, tmp_path
):
    slack.streaming_error = "unknown_method"  # e.g. a Slack without the streaming methods
    bot = await start_bot(agent_config=tickets_config(tmp_path, tickets.url))
    model.reply_with(CallTool("lookup_ticket", {"ticket_id": "T-42"}), echo_tool_output)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's going on with T-42?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    assert TICKETS_LINE in answer["text"]
    assert ("C1", question["ts"], "is calling lookup_ticket…") in slack.statuses


async def test_an_mcp_server_down_at_start_is_left_out_until_it_answers(start_bot, slack, model, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    down = ToolServer(free_port())
    bot = await start_bot(agent_config=tickets_config(tmp_path, down.url))

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's going on with T-42?")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    assert model.last_request.tool_names == []  # answered all the same, without the server's tools
    await say(bot, slack, "C1", ALICE, "still there?", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    outage = [r for r in caplog.records if "does not answer" in r.getMessage()]
    assert len(outage) == 1 and outage[0].levelno == logging.WARNING  # logged once, not per turn

    await down.start()
    try:
        model.reply_with(CallTool("lookup_ticket", {"ticket_id": "T-42"}), echo_tool_output)
        await say(bot, slack, "C1", ALICE, "and now?", thread_ts=question["ts"])
        answers = await slack.wait_for_bot_messages("C1", question["ts"], 3)
        assert TICKETS_LINE in answers[-1]["text"]
        assert down.calls == ["lookup_ticket"]
    finally:
        await down.stop()


async def test_a_tool_that_times_out_gives_the_model_the_error_and_the_answer_goes_on(
    start_bot, slack, model, tickets, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    bot = await start_bot(agent_config=tickets_config(tmp_path, tickets.url, timeout=1.5))
    model.reply_with(CallTool("slow_lookup", {"ticket_id": "T-42", "seconds": 8}), echo_tool_output)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> check T-42 in the slow system")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=10)

    assert answer["text"].startswith("Here is what I found. The tool failed: it took too long")
    assert [(t["title"], t["status"]) for t in slack.tasks("C1", answer["ts"])] == [("Calling `slow_lookup`…", "error")]
    [line] = [r.getMessage() for r in caplog.records if r.name == TOOL_LOG]
    assert ": error after " in line


async def test_a_turn_cut_during_a_tool_call_leaves_the_memory_where_it_was(start_bot, slack, model, tickets, tmp_path):
    # Turns may take 3.75 s (1.5 × the model's timeout); the tool takes longer.
    bot = await start_bot(agent_config=tickets_config(tmp_path, tickets.url), openai_timeout_seconds=2.5)
    question = await say(bot, slack, "C1", ALICE, "<@UBOT> remember the code word: kumquat")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    remembered = model.last_request.response_id

    model.reply_with(CallTool("slow_lookup", {"ticket_id": "T-42", "seconds": 8}))
    await say(bot, slack, "C1", ALICE, "check T-42 in the slow system", thread_ts=question["ts"])
    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2, timeout=15)
    assert answers[-1]["text"] == phrases.TOO_SLOW
    assert len(slack.bot_messages("C1", question["ts"])) == 2  # the note ended the message that showed the step

    await say(bot, slack, "C1", ALICE, "what was the code word?", thread_ts=question["ts"])
    answers = await slack.wait_for_bot_messages("C1", question["ts"], 3, timeout=10)
    assert model.last_request.previous_response_id == remembered  # not the response that asked for the tool
    assert model.last_request.status == 200
    assert answers[-1]["text"].endswith("what was the code word?")


async def test_a_tool_loop_stops_at_max_turns_with_a_plain_note(start_bot, slack, model, tickets, tmp_path):
    bot = await start_bot(agent_config=tickets_config(tmp_path, tickets.url, top="max_turns = 2"))
    # A model that keeps asking for the tool.
    model.reply_with(*[CallTool("lookup_ticket", {"ticket_id": "T-42"})] * 3)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's going on with T-42?")
    answers = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    assert [m["text"] for m in slack.bot_messages("C1", question["ts"])] == [phrases.TOO_MANY_STEPS]
    assert [t["status"] for t in slack.tasks("C1", answers[-1]["ts"])] == ["complete", "complete"]  # the steps shown
    assert len(model.requests) == 2

    await say(bot, slack, "C1", ALICE, "ok, never mind", thread_ts=question["ts"])
    await slack.wait_for_bot_messages("C1", question["ts"], 2)
    assert model.last_request.previous_response_id is None  # nothing was remembered: rebuilt from the thread
    assert model.last_request.status == 200


async def test_an_mcp_server_that_goes_away_gives_the_model_an_error_then_is_used_again_when_back(
    start_bot, slack, model, tickets, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    bot = await start_bot(agent_config=tickets_config(tmp_path, tickets.url))
    await tickets.stop()
    model.reply_with(CallTool("lookup_ticket", {"ticket_id": "T-42"}), echo_tool_output)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's going on with T-42?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=10)
    assert answer["text"].startswith("Here is what I found. The tool failed: ")
    assert [t["status"] for t in slack.tasks("C1", answer["ts"])] == ["error"]
    assert len([r for r in caplog.records if "failed a call" in r.getMessage()]) == 1

    await tickets.start()
    model.reply_with(CallTool("lookup_ticket", {"ticket_id": "T-42"}), echo_tool_output)
    await say(bot, slack, "C1", ALICE, "try again?", thread_ts=question["ts"])
    answers = await slack.wait_for_bot_messages("C1", question["ts"], 2, timeout=10)
    assert answers[-1]["text"] == f"Here is what I found. {TICKETS_LINE}"


async def test_doctor_can_probe_each_configured_server(tickets, tmp_path):
    servers = configured_mcp_servers({"AGENT_CONFIG": tickets_config(tmp_path, tickets.url), "TICKETS_TOKEN": "t"})
    down = ToolServer(free_port())
    servers += configured_mcp_servers({"AGENT_CONFIG": tickets_config(tmp_path, down.url), "TICKETS_TOKEN": "t"})

    up_result, down_result = [await probe(server) for server in servers]

    assert (up_result.ok, up_result.detail) == (True, "lookup_ticket, slow_lookup, flaky_lookup")
    assert not down_result.ok and down_result.detail.startswith(f"{down.url} does not answer: ")


async def test_in_a_memory_mode_without_the_responses_api_web_search_is_left_out_with_a_log_line(model, caplog):
    config = AgentConfig(web_search=True, path="agent.toml")
    client = model.client()
    tools = AgentTools(
        config,
        build=lambda name, _extra: Agent(name="chat", model=OpenAIChatCompletionsModel(name, client)),
        default_model="gpt-test",
    )

    agent = await tools.for_channel("C1")

    assert agent.tools == []
    assert [r.levelname for r in caplog.records if "web_search is on" in r.getMessage()] == ["WARNING"]
    await client.close()


async def test_a_tool_that_reports_an_error_shows_as_failed_and_the_model_hears_why(
    start_bot, slack, model, tickets, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    bot = await start_bot(agent_config=tickets_config(tmp_path, tickets.url))
    model.reply_with(CallTool("flaky_lookup", {"ticket_id": "T-42"}), echo_tool_output)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's going on with T-42?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1)

    assert "the ticket system is down for maintenance" in answer["text"]
    assert [(t["title"], t["status"]) for t in slack.tasks("C1", answer["ts"])] == [
        ("Calling `flaky_lookup`…", "error")
    ]
    [line] = [r.getMessage() for r in caplog.records if r.name == TOOL_LOG]
    assert line.startswith("Tool flaky_lookup in ") and ": error after " in line
