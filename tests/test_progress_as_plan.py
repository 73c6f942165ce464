"""An answer that uses several tools shows them in the stream as a timeline of tasks, in order, each settled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import ALICE
from fakes.openai_tools import CallTool
from harness import free_port, say
from tool_server import ToolServer


@pytest.fixture
async def tickets() -> AsyncIterator[ToolServer]:
    server = await ToolServer(free_port()).start()
    yield server
    await server.stop()


async def test_several_tool_calls_show_as_tasks_of_one_timeline(start_bot, slack, model, tickets, tmp_path: Path):
    config = tmp_path / "agent.toml"
    config.write_text(f'[mcp_servers.tickets]\nurl = "{tickets.url}"\ntools = ["lookup_ticket", "flaky_lookup"]\n')
    bot = await start_bot(agent_config=str(config))
    model.reply_with(
        CallTool("lookup_ticket", {"ticket_id": "T-42"}),
        CallTool("flaky_lookup", {"ticket_id": "T-43"}),
        "T-42 is on fire; T-43 could not be read.",
    )

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> how are T-42 and T-43?")
    [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=15)

    assert [(t["title"], t["status"]) for t in slack.tasks("C1", answer["ts"])] == [
        ("Calling `lookup_ticket`…", "complete"),
        ("Calling `flaky_lookup`…", "error"),
    ]
    [start] = slack.calls_to("chat.startStream")
    assert start.args["task_display_mode"] == "timeline" and "chunks" in start.args  # opened for the tasks
    assert tickets.calls == ["lookup_ticket", "flaky_lookup"]
    assert any(b["type"] == "context_actions" for b in answer["blocks"])  # feedback under the finished answer
