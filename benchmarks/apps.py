"""Starting the apps under benchmark in their own processes, and talking to them as Slack does."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from harness import BOT_TOKEN, SIGNING_SECRET, SlackRequests, env_for_subprocess, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class AppProcess:
    """`bot`, `baseline` or `floor`, serving `/slack/events` from a process of its own."""

    name: str
    process: asyncio.subprocess.Process
    slack: SlackRequests  # signed requests to this app, as Slack sends them
    log_path: Path

    @classmethod
    async def start(
        cls,
        name: str,
        *,
        slack_api_url: str,
        openai_base_url: str,
        redis_url: str,
        log_dir: Path,
        profile: Path | None = None,
        variant: str = "",
        options: tuple[str, ...] = (),
    ) -> AppProcess:
        """`variant` names one configuration of the app (a memory mode, say), passed as `options`."""
        label = f"{name}-{variant}" if variant else name
        log_path = log_dir / f"{label}.log"
        command = [sys.executable, "-m", "benchmarks.serve", name, "--slack-api-url", slack_api_url]
        command += ["--redis-url", redis_url, "--prefix", f"bench-{label}", *options]
        if profile is not None:
            command += ["--profile", str(profile)]
        env = env_for_subprocess(
            OPENAI_BASE_URL=openai_base_url,
            OPENAI_API_KEY="sk-bench-key-123456",
            SLACK_BOT_TOKEN=BOT_TOKEN,  # the floor reads these; the bot gets the same from harness.test_settings
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
        )
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *command, cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 90)  # imports alone take 15 s on a busy machine
        except TimeoutError:
            line = b""
        if not line.startswith(b"READY "):
            process.kill()
            raise RuntimeError(f"{name} did not start: {log_path.read_text()[-2000:]}")
        # Slack delivers many events at once: no client-side cap on connections.
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return cls(name, process, SlackRequests(url=line.split()[1].decode(), http=http), log_path)

    @classmethod
    async def start_workers(
        cls, workers: int, *, slack_api_url: str, openai_base_url: str, redis_url: str, log_dir: Path
    ) -> AppProcess:
        """The bot as an admin runs it, `python -m bot`, with WEB_CONCURRENCY=`workers` worker processes."""
        name = f"workers-{workers}"
        log_path = log_dir / f"{name}.log"
        port = free_port()
        env = env_for_subprocess(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=slack_api_url,
            OPENAI_API_KEY="sk-bench-key-123456",
            OPENAI_BASE_URL=openai_base_url,
            OPENAI_MODEL="gpt-test",
            REDIS_URL=redis_url,
            REDIS_PREFIX=f"bench-{name}",
            PORT=str(port),
            WEB_CONCURRENCY=str(workers),
            LOG_LEVEL="INFO",
            PYTHONPATH=str(REPO_ROOT),
        )
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=REPO_ROOT, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 90  # spawned workers import the bot afresh: slow on a loaded machine
        while log_path.read_text().count("Listening for Slack") < workers:  # every worker serves, not just one
            if process.returncode is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"{name} did not start: {log_path.read_text()[-2000:]}")
            await asyncio.sleep(0.1)
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        return cls(name, process, SlackRequests(url=f"http://127.0.0.1:{port}", http=http), log_path)

    def rss_bytes(self) -> int:
        """Resident memory of the app's process (Linux)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def cpu_seconds(self) -> float:
        """CPU time the app's process has used so far, user and system (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        if not self.slack.http.closed:
            await self.slack.http.close()
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.process.returncode not in (0, -signal.SIGTERM):
            print(f"warning: {self.name} exited with {self.process.returncode}; see {self.log_path}", file=sys.stderr)


def errors_in_log(path: Path) -> list[str]:
    """Lines the app logged at ERROR or above (a benchmark of a failing app measures nothing)."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if " ERROR " in line or "Traceback" in line]
