"""An admin runs `python -m bot`: HTTP mode behind a load balancer, Socket Mode for a quick start, clear errors."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import ALICE
from fakes.openai import FakeOpenAI
from fakes.slack import FakeSlack
from harness import BOT_TOKEN, SIGNING_SECRET, env_for_subprocess, event_envelope, free_port, sign

from bot.running.settings import Settings, SettingsError

OPENAI_KEY = "sk-test-key-for-the-subprocess"
APP_TOKEN = "xapp-1-A0001-test-app-token"


class RunningBot:
    """`python -m bot` in a process of its own, as an admin starts it."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.http = aiohttp.ClientSession()

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with self.http.get(f"{self.url}/healthz") as response:
            return response.status, await response.json()

    # Generous: importing the SDKs takes seconds on a loaded machine, and a bot that starts sooner passes sooner.
    async def wait_until_healthy(self, timeout: float = 60.0) -> dict[str, Any]:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.process.returncode is not None:
                raise AssertionError(f"the bot exited with {self.process.returncode}")
            try:
                status, body = await self.health()
                if status == 200:
                    return body
            except aiohttp.ClientError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the bot did not serve /healthz in time")
            await asyncio.sleep(0.1)

    async def send_event(self, event: dict[str, Any]) -> int:
        body = json.dumps(event_envelope(event, team_id="T0001"))
        headers = {"Content-Type": "application/json", **sign(body)}
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as response:
            return response.status

    async def stop(self) -> tuple[int, str]:
        """SIGTERM, as a host does on a deploy; returns the exit code and everything the bot logged."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await self.exited()

    async def exited(self) -> tuple[int, str]:
        _out, err = await asyncio.wait_for(self.process.communicate(), 90)
        await self.http.close()
        return int(self.process.returncode or 0), err.decode()


@asynccontextmanager
async def python_m_bot(cwd: Path, **env: str) -> AsyncIterator[RunningBot]:
    port = int(env.get("PORT") or free_port())
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=env_for_subprocess(PORT=str(port), **env, PYTHONPATH=str(Path(__file__).parents[1])),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    running = RunningBot(process, port)
    try:
        yield running
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if not running.http.closed:
            await running.http.close()


def base_env(slack: FakeSlack, model: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": model.base_url,
        "OPENAI_MODEL": "gpt-test",
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
        "LOG_LEVEL": "DEBUG",  # the most a log says: still no secret in it
        **extra,
    }


def assert_no_secret_in(log: str) -> None:
    for secret in (BOT_TOKEN, SIGNING_SECRET, OPENAI_KEY, APP_TOKEN):
        assert secret not in log


async def test_http_mode_answers_signed_events_and_reports_health(tmp_path, slack, model, redis_url):
    env = base_env(slack, model, SLACK_SIGNING_SECRET=SIGNING_SECRET, REDIS_URL=redis_url)
    async with python_m_bot(tmp_path, **env) as bot:
        health = await bot.wait_until_healthy()
        assert health == {"ok": True, "mode": "http", "redis": True}

        question = slack.post_user_message("C1", ALICE, "<@UBOT> hello from the real process")
        assert await bot.send_event({**question, "type": "app_mention"}) == 200
        [answer] = await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=15)
        assert answer["text"] == "Reply 1: alice (<@UALICE>): hello from the real process"

        code, log = await bot.stop()
    assert code == 0
    assert "Stopping" in log
    assert_no_secret_in(log)


async def test_socket_mode_connects_with_the_app_token_and_answers(tmp_path, slack, model, redis_url):
    env = base_env(slack, model, SLACK_APP_TOKEN=APP_TOKEN, REDIS_URL=redis_url)
    async with python_m_bot(tmp_path, **env) as bot:
        await asyncio.wait_for(slack.socket_connected.wait(), 90)
        health = await bot.wait_until_healthy()  # PORT is set: /healthz for the host's checks
        assert health["mode"] == "socket"
        [opened] = slack.calls_to("apps.connections.open")
        assert opened.args == {}  # the app token went in the Authorization header, not the body

        question = slack.post_user_message("D1", ALICE, "hi over the socket")
        envelope = {
            "envelope_id": "env-1",
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": event_envelope(question, team_id="T0001"),
        }
        await slack.socket_send(envelope)
        [answer] = await slack.wait_for_bot_messages("D1", None, 1, timeout=15)
        assert answer["text"] == "Reply 1: alice (<@UALICE>): hi over the socket"
        assert {"envelope_id": "env-1"}.items() <= slack.socket_acks[0].items()

        code, log = await bot.stop()
    assert code == 0
    assert_no_secret_in(log)


async def test_without_redis_url_an_embedded_redis_keeps_memory_under_data(tmp_path, slack, model):
    env = base_env(slack, model, SLACK_SIGNING_SECRET=SIGNING_SECRET, REDIS_URL="")
    async with python_m_bot(tmp_path, **env) as bot:
        assert (await bot.wait_until_healthy())["redis"] is True
        question = slack.post_user_message("C1", ALICE, "<@UBOT> remember 7")
        await bot.send_event({**question, "type": "app_mention"})
        await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=15)
        assert (await bot.stop())[0] == 0
    first_id = model.requests[-1].response_id

    # A second run finds the thread's memory in ./data: the follow-up is chained, not rebuilt.
    async with python_m_bot(tmp_path, **env) as bot:
        await bot.wait_until_healthy()
        follow_up = slack.post_user_message("C1", ALICE, "which number?", thread_ts=question["ts"])
        await bot.send_event(follow_up)
        await slack.wait_for_bot_messages("C1", question["ts"], 2, timeout=15)
        await bot.stop()
    assert (tmp_path / "data").is_dir()
    assert model.requests[-1].previous_response_id == first_id


async def test_tracing_never_holds_up_an_answer_and_is_off_when_disabled(tmp_path, slack, model, redis_url):
    model.traces_delay = 60.0  # the trace endpoint accepts and never answers in time
    env = base_env(slack, model, SLACK_SIGNING_SECRET=SIGNING_SECRET, REDIS_URL=redis_url)
    env.pop("OPENAI_AGENTS_DISABLE_TRACING")
    async with python_m_bot(tmp_path, **env) as bot:
        await bot.wait_until_healthy()
        for n in range(3):
            question = slack.post_user_message("C1", ALICE, f"<@UBOT> question {n}")
            await bot.send_event({**question, "type": "app_mention"})
            await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=15)
        code, _log = await bot.stop()
    assert code == 0
    assert model.trace_batches == 0  # every answer was posted while the trace export still hung

    model.traces_delay = 0.0
    env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
    async with python_m_bot(tmp_path, **env) as bot:
        await bot.wait_until_healthy()
        question = slack.post_user_message("C1", ALICE, "<@UBOT> untraced")
        await bot.send_event({**question, "type": "app_mention"})
        await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=15)
        await bot.stop()
    assert model.trace_batches == 0
    assert model.trace_payloads == []


async def test_traces_are_exported_when_tracing_is_on(tmp_path, slack, model, redis_url):
    env = base_env(slack, model, SLACK_SIGNING_SECRET=SIGNING_SECRET, REDIS_URL=redis_url)
    env.pop("OPENAI_AGENTS_DISABLE_TRACING")
    async with python_m_bot(tmp_path, **env) as bot:
        await bot.wait_until_healthy()
        question = slack.post_user_message("C1", ALICE, "<@UBOT> traced")
        await bot.send_event({**question, "type": "app_mention"})
        await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=15)
        await bot.stop()  # the SDK flushes its traces on the way out
    assert model.trace_batches >= 1


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "SLACK_BOT_TOKEN is not set: get it from Slack app settings > OAuth & Permissions"),
        ({"SLACK_BOT_TOKEN": "xapp-wrong-kind"}, "SLACK_BOT_TOKEN should start with 'xoxb-'"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-not-an-app-token"}, "SLACK_APP_TOKEN should start"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s"}, "OPENAI_API_KEY is not set"),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "OPENAI_API_KEY": "k", "PORT": "http"},
            "PORT must be a number, got 'http'",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "OPENAI_API_KEY": "k", "LOG_LEVEL": "loud"},
            "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "OPENAI_API_KEY": "k", "SLACK_API_URL": "x"},
            "SLACK_API_URL must be an http(s) URL",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "OPENAI_API_KEY": "k"}
            | {"RESPONSE_RETENTION_DAYS": "-1"},
            "RESPONSE_RETENTION_DAYS must be at least 0",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "OPENAI_API_KEY": "k", "MAX_FILE_MB": "500"},
            "MAX_FILE_MB must be at least 1 and at most 32",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "OPENAI_API_KEY": "k"}
            | {"MEMORY_MODE": "redis"},
            "MEMORY_MODE must be one of responses, conversations, local, got 'redis'",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "OPENAI_API_KEY": "k"}
            | {"OPENAI_API": "chat_completions", "MEMORY_MODE": "conversations"},
            "OPENAI_API=chat_completions needs MEMORY_MODE=local",
        ),
        (
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "OPENAI_API_KEY": "k",
                "WEB_CONCURRENCY": "12",
            },
            "WEB_CONCURRENCY must be at most 10 in Socket Mode (Slack allows an app 10 connections)",
        ),
    ],
)
def test_a_missing_or_malformed_setting_is_named_with_where_to_get_it(env, expected):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert str(raised.value).startswith(expected)


async def test_start_up_names_every_missing_setting_at_once_with_where_to_get_it_and_no_traceback(
    tmp_path, slack, model
):
    (tmp_path / ".env").write_text("SLACK_SIGNING_SECRET=from-dotenv\n")  # read, but the tokens are still missing
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env_for_subprocess(PYTHONPATH=str(Path(__file__).parents[1]), PORT="http"),
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    assert process.returncode == 2
    assert err.decode().strip().splitlines() == [
        "Cannot start: 3 settings need fixing:",
        "  SLACK_BOT_TOKEN is not set: get it from Slack app settings > OAuth & Permissions > Bot User OAuth Token.",
        "  OPENAI_API_KEY is not set: get it from https://platform.openai.com/api-keys (or your gateway's key).",
        "  PORT must be a number, got 'http'.",
    ]

    # A token Slack refuses is caught at start-up too, in one line.
    env = base_env(slack, model, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_BOT_TOKEN="xoxb-revoked")
    slack.fail_next("auth.test", "invalid_auth")
    async with python_m_bot(tmp_path, **env) as bot:
        code, log = await bot.exited()
    assert code == 1
    assert "Traceback" not in log
    assert log.strip().splitlines()[-1].startswith("Cannot start: Slack refused SLACK_BOT_TOKEN (invalid_auth)")


def test_every_problem_with_the_settings_is_named_in_one_go():
    env = {"SLACK_BOT_TOKEN": "xapp-wrong-kind", "MAX_FILE_MB": "500", "MEMORY_MODE": "redis", "LOG_LEVEL": "loud"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    assert [problem.split(":")[0].split(" ")[0] for problem in raised.value.problems] == [
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "OPENAI_API_KEY",
        "LOG_LEVEL",
        "MAX_FILE_MB",
        "MEMORY_MODE",
    ]
    assert "Slack app settings > OAuth & Permissions" in raised.value.problems[0]  # where to get it, as for one


def test_dotenv_is_read_without_overriding_the_environment(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_SIGNING_SECRET=from-dotenv\nOPENAI_API_KEY=from-dotenv\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.setenv(name, "")  # so that monkeypatch undoes what load_dotenv writes
        monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_API_KEY", "from-the-environment")
    settings = Settings.from_env()
    assert settings.slack_signing_secret == "from-dotenv"
    assert settings.openai_api_key == "from-the-environment"
    assert not settings.socket_mode
    assert "from-dotenv" not in repr(settings)  # secrets stay out of reprs, and so out of logs
