"""An admin sets WEB_CONCURRENCY=2: two worker processes answer Slack from one port or two sockets, sharing memory."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import harness
from conftest import ALICE, BOB
from harness import SIGNING_SECRET, BotUnderTest, env_for_subprocess, event_envelope, free_port, sign
from test_running import APP_TOKEN, base_env


@dataclass
class Workers:
    """`python -m bot` with WEB_CONCURRENCY set, its log written to a file the test can read while it runs."""

    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    async def wait_for_log(self, text: str, count: int, timeout: float = 90.0) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while self.log.count(text) < count:
            assert self.process.returncode is None, f"the bot exited: {self.log[-2000:]}"
            assert time.monotonic() < deadline, f"{count} x {text!r} not logged: {self.log[-2000:]}"
            await asyncio.sleep(0.05)

    def worker_pids(self) -> list[int]:
        parent = self.process.pid
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        return [int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    async def mention_over_a_new_connection(self, event: dict[str, object]) -> int:
        """Each delivery on a connection of its own, as Slack's are: the kernel picks the worker."""
        body = json.dumps(event_envelope({**event, "type": "app_mention"}, team_id="T0001"))
        headers = {"Content-Type": "application/json", **sign(body)}
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http,
            http.post(f"{self.url}/slack/events", data=body, headers=headers) as response,
        ):
            return response.status

    async def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), 40)


@asynccontextmanager
async def python_m_bot_workers(cwd: Path, **env: str) -> AsyncIterator[Workers]:
    port = free_port()
    log_path = cwd / "bot.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=cwd,
            env=env_for_subprocess(PORT=str(port), **env, PYTHONPATH=str(Path(__file__).parents[1])),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    try:
        yield Workers(process, f"http://127.0.0.1:{port}", log_path)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_two_workers_serve_one_port_share_the_embedded_memory_and_stop_together(tmp_path, slack, model):
    env = base_env(slack, model, SLACK_SIGNING_SECRET=SIGNING_SECRET, REDIS_URL="", WEB_CONCURRENCY="2")
    async with python_m_bot_workers(tmp_path, **env) as bot:
        await bot.wait_for_log("Listening for Slack", 2)
        assert "[worker 1]" in bot.log and "[worker 2]" in bot.log
        assert len(bot.worker_pids()) == 2

        questions = [slack.post_user_message(f"C{n}", ALICE, f"<@UBOT> question {n}") for n in range(8)]
        assert await asyncio.gather(*(bot.mention_over_a_new_connection(q) for q in questions)) == [200] * 8
        for n, question in enumerate(questions):
            [answer] = await slack.wait_for_bot_messages(f"C{n}", question["ts"], 1, timeout=20)
            assert answer["text"].endswith(f"question {n}")

        # Whichever worker gets the follow-ups, they chain from the memory the other one stored.
        thread = questions[0]["ts"]
        for n in range(3):
            follow_up = slack.post_user_message("C0", BOB, f"<@UBOT> and then {n}?", thread_ts=thread)
            await bot.mention_over_a_new_connection(follow_up)
            await slack.wait_for_bot_messages("C0", thread, 2 + n, timeout=20)
        chained = [r for r in model.requests if "and then" in r.last_user_text]
        assert all(r.previous_response_id for r in chained)
        assert "question 0" in str(model.full_context_of(chained[-1].response_id))

        assert await bot.stop() == 0
    log = bot.log
    assert log.count("Stopping: no new events") == 2
    assert "Traceback" not in log
    assert (tmp_path / "data" / "redis.db").is_file()  # the parent's embedded Redis saved on the way out


async def test_two_workers_in_socket_mode_hold_a_connection_each_and_both_answer(tmp_path, slack, model, redis_url):
    env = base_env(slack, model, SLACK_APP_TOKEN=APP_TOKEN, REDIS_URL=redis_url, WEB_CONCURRENCY="2")
    async with python_m_bot_workers(tmp_path, **env) as bot:
        await slack.wait_for(lambda: slack.socket_connections == 2, timeout=90)
        for connection, channel in enumerate(("D1", "D2")):
            question = slack.post_user_message(channel, ALICE, f"hi on connection {connection}")
            envelope = {
                "envelope_id": f"env-{connection}",
                "type": "events_api",
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
                "payload": event_envelope(question, team_id="T0001"),
            }
            await slack.socket_send(envelope, connection=connection)
            [answer] = await slack.wait_for_bot_messages(channel, None, 1, timeout=20)
            assert answer["text"].endswith(f"hi on connection {connection}")
        assert sorted(a["envelope_id"] for a in slack.socket_acks) == ["env-0", "env-1"]
        assert await bot.stop() == 0
    assert bot.log.count("Stopping: no new events") == 2


async def test_a_worker_that_dies_stops_the_others_and_the_exit_code_says_so(tmp_path, slack, model, redis_url):
    env = base_env(slack, model, SLACK_SIGNING_SECRET=SIGNING_SECRET, REDIS_URL=redis_url, WEB_CONCURRENCY="2")
    async with python_m_bot_workers(tmp_path, **env) as bot:
        await bot.wait_for_log("Listening for Slack", 2)
        first, _second = bot.worker_pids()
        os.kill(first, signal.SIGKILL)  # the out-of-memory killer, say
        code = await asyncio.wait_for(bot.process.wait(), 40)
    assert code == 1  # the host's restart policy sees a failed process, not a half-dead one
    assert "exited with code -9: stopping the others" in bot.log
    assert bot.log.count("Stopping: no new events") == 1  # the survivor finished its turns


async def test_the_embedded_redis_saves_and_stops_without_holding_up_the_event_loop(tmp_path, slack, model):
    settings = harness.test_settings(slack_api_url=slack.api_url, redis_url="")
    bot = await BotUnderTest.start(settings, embedded_redis_dir=str(tmp_path / "data"))
    question = slack.post_user_message("C1", ALICE, "<@UBOT> remember me")
    await bot.mention(question)
    await slack.wait_for_bot_messages("C1", question["ts"], 1)
    await bot.settled()

    ticks: list[float] = []

    async def heartbeat() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    beating = asyncio.create_task(heartbeat())
    await bot.stop(drain_seconds=1.0)
    ticks.append(time.monotonic())
    beating.cancel()
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    # Before, the loop stood still for about five seconds of redis-py retries while the server shut down.
    assert max(gaps) < 1.0
    assert (tmp_path / "data" / "redis.db").stat().st_size > 0
