"""An operator scrapes `/metrics` and reads JSON logs: two workers' turns are summed in one scrape, and the log
lines parse and carry neither a secret nor what people wrote."""

from __future__ import annotations

import json
import re

import aiohttp
import pytest
from conftest import ALICE
from harness import SIGNING_SECRET, say
from test_running import assert_no_secret_in, base_env
from test_worker_processes import python_m_bot_workers

from bot.running.settings import Settings, SettingsError

METRICS_TOKEN = "metrics-test-token-123"


def value_of(scrape: str, sample: str) -> float:
    """A sample's value in a scrape, e.g. `slackbot_turns_total{outcome="new"}`; 0 when absent."""
    found = re.search(rf"^{re.escape(sample)} (\S+)$", scrape, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def turns_of(scrape: str, outcome: str) -> float:
    return value_of(scrape, f'slackbot_turns_total{{outcome="{outcome}"}}')


async def scrape(url: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # A connection of its own each time: the kernel picks the worker that answers.
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
        http.get(f"{url}/metrics", headers=headers) as response,
    ):
        return response.status, await response.text()


def json_lines(log: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.splitlines() if line.strip()]


async def test_metrics_from_two_workers_sum_their_turns_and_json_logs_carry_no_secret_or_text(tmp_path, slack, model):
    env = base_env(
        slack,
        model,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        REDIS_URL="",
        WEB_CONCURRENCY="2",
        LOG_FORMAT="json",
        METRICS_TOKEN=METRICS_TOKEN,
    )
    async with python_m_bot_workers(tmp_path, **env) as bot:
        await bot.wait_for_log("Listening for Slack", 2)
        sent = 0

        def answering_workers() -> set[object]:
            turns = [line for line in json_lines(bot.log) if str(line["message"]).startswith("turn usage")]
            return {line.get("process") for line in turns}

        # Until both workers have answered some (the kernel spreads connections between them).
        while answering_workers() != {"worker 1", "worker 2"}:
            assert sent < 40, f"one worker answered all {sent}"
            question = slack.post_user_message(f"C{sent}", ALICE, f"<@UBOT> secret plans number {sent}")
            assert await bot.mention_over_a_new_connection(question) == 200
            await slack.wait_for_bot_messages(f"C{sent}", question["ts"], 1, timeout=30)
            sent += 1
            await bot.wait_for_log("turn usage", sent, timeout=30)

        for _ in range(4):  # whichever worker answers the scrape, it counts both workers' turns
            status, text = await scrape(bot.url, METRICS_TOKEN)
            assert status == 200
            assert turns_of(text, "new") == sent
            assert "slackbot_first_text_seconds_bucket" in text and 'slackbot_tokens_total{kind="input"}' in text
        status, _ = await scrape(bot.url, None)
        assert status == 401
        status, _ = await scrape(bot.url, "wrong")
        assert status == 401
        assert await bot.stop() == 0

    lines = json_lines(bot.log)  # every line is one JSON object
    turns = [line for line in lines if str(line["message"]).startswith("turn usage")]
    assert len(turns) == sent
    assert {"conversation", "model", "context", "input", "cached", "output", "duration_ms"} <= set(turns[0])
    assert turns[0]["context"] == "new" and int(str(turns[0]["input"])) > 0
    assert "secret plans" not in bot.log  # what people wrote never reaches the log
    assert_no_secret_in(bot.log)
    assert METRICS_TOKEN not in bot.log


async def test_a_turn_counts_its_outcome_tokens_latency_and_what_slack_refused(bot, slack, model):
    samples = {
        "turns": 'slackbot_turns_total{outcome="new"}',
        "input": 'slackbot_tokens_total{kind="input"}',
        "answers": "slackbot_answer_seconds_count",
        "first text": "slackbot_first_text_seconds_count",
        "waits": "slackbot_queue_wait_seconds_count",
        "429": 'slackbot_slack_rate_limited_total{method="chat.postMessage"}',
        "refused": 'slackbot_slack_refused_total{error="user_not_found",method="users.info"}',
    }
    _, text = await scrape(bot.url, None)  # this test process's metrics: other tests' turns are in them too
    before = {name: value_of(text, sample) for name, sample in samples.items()}
    slack.fail_next("users.info", "user_not_found")
    slack.rate_limit_next("chat.postMessage", retry_after=1)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> count this")
    await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=10)
    await bot.settled()

    _, text = await scrape(bot.url, None)
    grown = {name: value_of(text, sample) - before[name] for name, sample in samples.items()}
    assert grown == {
        "turns": 1,
        "input": model.requests[-1].usage["input_tokens"],
        "answers": 1,
        "first text": 1,
        "waits": 1,
        "429": 1,
        "refused": 1,
    }


def test_the_operating_settings_are_read_and_a_wrong_log_format_is_named():
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "OPENAI_API_KEY": "sk-1", "SLACK_SIGNING_SECRET": "s"}
    settings = Settings.from_env(
        {
            **env,
            "DAILY_TOKEN_BUDGET_PER_CHANNEL": "5000",
            "DAILY_TOKEN_BUDGET_PER_WORKSPACE": "90000",
            "ADMIN_USER_IDS": "U1, U2,",
            "METRICS_TOKEN": "m-token-123",
            "LOG_FORMAT": "JSON",
        }
    )
    assert (settings.daily_token_budget_per_channel, settings.daily_token_budget_per_workspace) == (5000, 90000)
    assert settings.admin_user_ids == {"U1", "U2"} and settings.log_format == "json"
    assert "m-token-123" in settings.secrets  # masked in every log line
    with pytest.raises(SettingsError, match="LOG_FORMAT must be one of text, json, got 'xml'"):
        Settings.from_env({**env, "LOG_FORMAT": "xml"})


async def test_a_failed_turn_counts_as_failed_by_kind_and_in_the_admins_view(start_bot, slack, model):
    slack.admin.admins.add(ALICE)
    bot = await start_bot(openai_max_retries=0)
    kind = 'slackbot_model_errors_total{kind="InternalServerError(500)"}'
    _, text = await scrape(bot.url, None)
    before = (turns_of(text, "failed"), value_of(text, kind))
    model.fail_next(status=500)

    question = await say(bot, slack, "C1", ALICE, "<@UBOT> this will fail")
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await bot.settled()

    _, text = await scrape(bot.url, None)
    assert (turns_of(text, "failed") - before[0], value_of(text, kind) - before[1]) == (1, 1)
    await bot.send_event({"type": "app_home_opened", "user": ALICE, "tab": "home", "event_ts": "1.000001"})
    await slack.wait_for(lambda: ALICE in slack.home_views)
    view = "\n".join(str(b.get("text", {}).get("text", "")) for b in slack.home_views[ALICE]["blocks"])
    assert "_Turns_: chained 0, rebuilt 0, new 0, alone 0, failed 1" in view
