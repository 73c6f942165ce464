"""A new admin runs `python -m bot doctor`: a short table, a fix for each failure, exit 0 only when all is well."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import pytest
from fakes.openai import FakeOpenAI
from fakes.slack import BOT_SCOPES, FakeSlack
from harness import SIGNING_SECRET, env_for_subprocess, free_port
from test_running import APP_TOKEN, OPENAI_KEY, assert_no_secret_in, base_env

from bot.running.doctor import Outcome, diagnose, find_manifest

MANIFEST = Path(__file__).parents[1] / "manifest.yml"


async def python_m_bot_doctor(cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        cwd=cwd,
        env=env_for_subprocess(**env, PYTHONPATH=str(Path(__file__).parents[1])),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 180)  # a loaded machine imports slowly
    return int(process.returncode or 0), out.decode()


async def test_a_working_set_up_passes_every_check_and_exits_0(tmp_path, slack, model):
    env = base_env(slack, model, SLACK_APP_TOKEN=APP_TOKEN, REDIS_URL="")  # Socket Mode, embedded Redis
    code, out = await python_m_bot_doctor(tmp_path, env)
    assert code == 0, out
    rows = out.strip().splitlines()
    assert [row.split()[0] for row in rows[:6]] == ["ok"] * 6
    assert "@helper in Fake (T0001)" in rows[0]
    assert f"all {len(BOT_SCOPES)} scopes of manifest.yml" in rows[1]
    assert "Socket Mode" in rows[2]
    assert "embedded Redis" in rows[3]
    assert rows[-1] == "Everything needed works: start the bot with `python -m bot`."
    assert_no_secret_in(out)
    assert [call.args for call in slack.calls_to("apps.connections.open")] == [{}]  # the token went in the header
    first, second = model.requests
    assert second.previous_response_id == first.response_id  # a real chained round trip
    assert model.responses == {}  # and the doctor's test answer was deleted afterwards


async def test_a_failure_gives_its_fix_and_exit_code_1(tmp_path, slack, model):
    slack.granted_scopes.remove("users:read")
    env = base_env(slack, model, SLACK_SIGNING_SECRET=SIGNING_SECRET, REDIS_URL="redis://:hunter22@127.0.0.1:9/0")
    code, out = await python_m_bot_doctor(tmp_path, env)
    assert code == 1
    assert "FAILED   bot scopes" in out
    assert "the bot token lacks users:read" in out
    assert "HTTP mode on port 3000" in out
    assert "FAILED   Redis             redis://:***@127.0.0.1:9/0 does not answer" in out
    assert "hunter22" not in out
    assert out.strip().splitlines()[-1] == "2 check(s) failed: fix them and run `python -m bot doctor` again."


async def test_a_missing_setting_is_reported_as_a_failed_check(tmp_path):
    code, out = await python_m_bot_doctor(tmp_path, {"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": APP_TOKEN})
    assert code == 1
    assert out.startswith("FAILED   settings  OPENAI_API_KEY is not set: get it from https://platform.openai.com")


Inject = Callable[[FakeSlack, FakeOpenAI, dict[str, Any]], None]


def bot_token_revoked(slack: FakeSlack, _model: FakeOpenAI, _settings: dict[str, Any]) -> None:
    slack.fail_next("auth.test", "token_revoked")


def app_token_refused(slack: FakeSlack, _model: FakeOpenAI, settings: dict[str, Any]) -> None:
    settings["slack_app_token"] = APP_TOKEN
    slack.fail_next("apps.connections.open", "invalid_auth")


def redis_down(_slack: FakeSlack, _model: FakeOpenAI, settings: dict[str, Any]) -> None:
    settings["redis_url"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def data_folder_blocked(_slack: FakeSlack, _model: FakeOpenAI, settings: dict[str, Any]) -> None:
    settings["redis_url"] = ""  # the embedded Redis, whose folder is a file here (see the test)


def openai_key_refused(_slack: FakeSlack, model: FakeOpenAI, _settings: dict[str, Any]) -> None:
    model.fail_next(status=401, code="invalid_api_key", message="Incorrect API key provided.")


def unknown_model(_slack: FakeSlack, model: FakeOpenAI, _settings: dict[str, Any]) -> None:
    model.fail_next(status=404, code="model_not_found", message="The model `gpt-test` does not exist.")


def zero_data_retention(_slack: FakeSlack, model: FakeOpenAI, _settings: dict[str, Any]) -> None:
    model.zero_data_retention = True


@pytest.mark.parametrize(
    ("inject", "check", "detail", "fix"),
    [
        (bot_token_revoked, "Slack bot token", "refused SLACK_BOT_TOKEN (token_revoked)", "Bot User OAuth Token"),
        (app_token_refused, "Slack connection", "refused SLACK_APP_TOKEN (invalid_auth)", "connections:write"),
        (redis_down, "Redis", "does not answer (ConnectionError)", "check REDIS_URL"),
        (data_folder_blocked, "Redis", "cannot keep its data in", "a folder it may write to, or set REDIS_URL"),
        (openai_key_refused, "model", "OpenAI refused OPENAI_API_KEY", "platform.openai.com/api-keys"),
        (unknown_model, "model", "no model 'gpt-test' for this key", "set OPENAI_MODEL"),
        (zero_data_retention, "stored responses", "did not store the model's answer", "set MEMORY_MODE=local"),
    ],
)
async def test_each_failure_is_named_with_its_fix(tmp_path, slack, model, redis_url, inject, check, detail, fix):
    options: dict[str, Any] = {"slack_api_url": slack.api_url, "redis_url": redis_url, "openai_api_key": OPENAI_KEY}
    inject(slack, model, options)
    (tmp_path / "blocked").write_text("a file where the data folder should be")
    results = dict(
        await diagnose(
            harness.test_settings(**options), manifest_path=MANIFEST, embedded_dir=str(tmp_path / "blocked" / "data")
        )
    )
    failures = {name: outcome for name, outcome in results.items() if outcome.status == "FAILED"}
    assert list(failures) == [check]
    assert detail in failures[check].detail
    assert fix in failures[check].fix
    assert all(o.status in ("ok", "skipped") for name, o in results.items() if name != check)


async def test_checks_that_need_an_earlier_one_are_skipped_not_failed(slack, model, redis_url):
    slack.fail_next("auth.test", "invalid_auth")
    model.fail_next(status=401, code="invalid_api_key")
    settings = harness.test_settings(slack_api_url=slack.api_url, redis_url=redis_url)
    results = dict(await diagnose(settings, manifest_path=MANIFEST))
    assert results["bot scopes"] == Outcome(
        "skipped", "needs a working bot token (Slack lists its scopes in each answer)"
    )
    assert results["stored responses"].status == "skipped"
    assert results["Redis"].status == "ok"


def test_the_manifest_is_found_from_any_folder_of_a_source_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_manifest() == MANIFEST.resolve()
    (tmp_path / "manifest.yml").write_text("oauth_config: {scopes: {bot: [chat:write]}}\n")
    assert find_manifest() == tmp_path / "manifest.yml"


async def test_an_mcp_server_that_does_not_answer_is_named_with_its_fix(tmp_path, slack, model, redis_url):
    config = tmp_path / "agent.toml"
    config.write_text(f'[mcp_servers.tickets]\nurl = "http://127.0.0.1:{free_port()}/mcp"\ntimeout = 1\n')
    options = {"slack_api_url": slack.api_url, "redis_url": redis_url, "agent_config": str(config)}
    results = dict(await diagnose(harness.test_settings(**options), manifest_path=MANIFEST))
    assert results["MCP servers"].status == "FAILED"
    assert results["MCP servers"].detail.startswith("tickets: http://127.0.0.1:")
    assert str(config) in results["MCP servers"].fix

    without = dict(
        await diagnose(harness.test_settings(slack_api_url=slack.api_url, redis_url=redis_url), manifest_path=MANIFEST)
    )
    assert without["MCP servers"].status == "skipped"
