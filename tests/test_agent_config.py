"""The agent set-up file: every mistake named on a line of its own, the example file valid, channels resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.model.config import (
    AgentConfig,
    AgentConfigError,
    config_path,
    configured_mcp_servers,
    load_agent_config,
    setup_for_channel,
)
from bot.running.app import StartupError

EXAMPLE = Path(__file__).parent.parent / "agent.example.toml"

MISTAKES = """
instructions = "Be brief."
web_search = "yes"
max_turns = 0
colour = "blue"

[mcp_servers.tickets]
url = "tickets.example.com/mcp"
headers = { Authorization = "Bearer ${NOT_SET_ANYWHERE}" }
timeout = -1
tool = ["lookup_ticket"]

[mcp_servers.docs]
url = "https://docs.example.com/mcp"
tools = "search"

[channels.C0SUPPORT]
mcp_servers = ["wiki"]
modle = "gpt-x"

[channels.general]
web_search = false
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return str(path)


def test_each_mistake_in_the_file_is_named_on_a_line_of_its_own(tmp_path):
    with pytest.raises(AgentConfigError) as caught:
        load_agent_config(write(tmp_path, MISTAKES), env={})

    assert sorted(caught.value.lines) == sorted(
        [
            "unknown key 'colour' (known: access, channels, instructions, max_turns, mcp_servers, model, prices, "
            "slack_search, "
            "web_search)",
            "[mcp_servers.tickets]: unknown key 'tool' (known: headers, timeout, tools, url)",
            "[mcp_servers.tickets]: url must be an http(s) URL, got 'tickets.example.com/mcp'",
            "[mcp_servers.tickets]: header 'Authorization' names ${NOT_SET_ANYWHERE}, "
            "which is not set in the environment",
            "[mcp_servers.tickets]: timeout must be a number of seconds above 0 and at most 600",
            "[mcp_servers.docs]: tools must be a list of names",
            "[channels.C0SUPPORT]: unknown key 'modle' (known: instructions, mcp_servers, model, slack_search, "
            "web_search)",
            "[channels.C0SUPPORT]: mcp_servers names 'wiki', which no [mcp_servers.wiki] section defines",
            "[channels.general]: 'general' is not a Slack channel id (like C0123ABCD)",
            "web_search must be true or false",
            "max_turns must be a whole number from 1 to 100",
        ]
    )
    assert all("\n" not in line for line in caught.value.lines)


def test_a_file_that_is_not_toml_or_not_there_is_named_with_the_reason(tmp_path):
    with pytest.raises(AgentConfigError) as caught:
        load_agent_config(write(tmp_path, "web_search = \n"), env={})
    [line] = caught.value.lines
    assert line.startswith("is not valid TOML: ") and "line 1" in line

    with pytest.raises(AgentConfigError) as caught:
        load_agent_config(str(tmp_path / "missing.toml"), env={})
    assert caught.value.lines == ["the file does not exist (AGENT_CONFIG names it)"]


def test_secrets_come_from_the_environment_and_stay_out_of_the_values_repr(tmp_path):
    path = write(
        tmp_path,
        '[mcp_servers.tickets]\nurl = "https://t.example.com/mcp"\nheaders = { Authorization = "Bearer ${TOKEN}" }\n',
    )
    [server] = load_agent_config(path, env={"TOKEN": "s3cret-value"}).mcp_servers

    assert server.headers == {"Authorization": "Bearer s3cret-value"}
    assert "s3cret-value" not in repr(server)
    assert (server.allowed_tools, server.timeout_seconds) == (None, 10.0)


def test_a_channel_section_overrides_only_what_it_names():
    config = load_agent_config(str(EXAMPLE), env={"TICKETS_TOKEN": "t", "WIKI_TOKEN": "w"})

    support = setup_for_channel(config, "C0123SUPPORT")
    elsewhere = setup_for_channel(config, "C0456RANDOM")

    assert elsewhere.model == config.model and elsewhere.instructions == config.instructions
    assert elsewhere.web_search and elsewhere.mcp_servers == ("tickets", "wiki")
    assert support.model != config.model and support.instructions != config.instructions
    assert support.mcp_servers == ("tickets",)


def test_no_file_means_no_tools_and_the_bot_as_before(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_path({}) is None
    assert load_agent_config(None) == AgentConfig()
    assert setup_for_channel(AgentConfig(), "C1").mcp_servers == ()
    (tmp_path / "agent.toml").write_text("")
    assert config_path({}) == "agent.toml"  # found in the working directory
    assert config_path({"AGENT_CONFIG": "/etc/bot/agent.toml"}) == "/etc/bot/agent.toml"


def test_doctor_can_list_the_configured_servers(tmp_path):
    path = write(
        tmp_path, '[mcp_servers.a]\nurl = "http://127.0.0.1:9/mcp"\n[mcp_servers.b]\nurl = "https://b.example/mcp"\n'
    )
    assert [s.name for s in configured_mcp_servers({"AGENT_CONFIG": path})] == ["a", "b"]


async def test_the_bot_does_not_start_with_a_broken_file_and_says_why(start_bot, tmp_path):
    with pytest.raises(StartupError) as caught:
        await start_bot(agent_config=write(tmp_path, MISTAKES))

    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'agent.toml'} has 11 mistake(s):\n")
    assert "  - [mcp_servers.docs]: tools must be a list of names" in message.splitlines()
