from __future__ import annotations

import os
import uuid

# The Agents SDK reads this once per process; traces have their own test with a subprocess.
os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from fakes.openai import FakeOpenAI
from fakes.slack import FakeSlack
from harness import BotUnderTest, RedisServer, test_settings
from redis_cluster import RedisClusterServers
from slack_sdk.web.async_client import AsyncWebClient

ALICE = "UALICE"
BOB = "UBOB"
MEMORY_MODES = ("responses", "conversations", "local")
# For the behaviour tests of memory: the same story in every MEMORY_MODE, so the modes cannot drift apart.
all_memory_modes = pytest.mark.parametrize("memory_mode", MEMORY_MODES, indirect=True)


@pytest.fixture
def memory_mode(request: pytest.FixtureRequest) -> str:
    """The MEMORY_MODE the bots of a test run in: `responses` unless the test is marked `all_memory_modes`."""
    return str(getattr(request, "param", "responses"))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis for the session: REDIS_URL when set, else a redis-server started here."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = RedisServer()
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A Redis of the test's own, for tests that stop, freeze or restart it."""
    server = RedisServer()
    server.start()
    yield server
    if server.process is not None:
        server.thaw()
    server.stop()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_user(ALICE, "Alice Liddell", "alice")
    fake.add_user(BOB, "Bob Builder", "bob")
    await fake.start()
    yield fake
    await fake.stop()
    # A call Slack's reference does not allow (unknown method, undocumented or missing argument) fails the test.
    assert not fake.violations, f"calls that break Slack's documented contract: {[str(v) for v in fake.violations]}"


@pytest.fixture
async def model(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeOpenAI]:
    fake = FakeOpenAI()
    await fake.start()
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    yield fake
    await fake.stop()


StartBot = Callable[..., Awaitable[BotUnderTest]]


@pytest.fixture
async def start_bot(slack: FakeSlack, model: FakeOpenAI, redis_url: str, memory_mode: str) -> AsyncIterator[StartBot]:
    """Start a bot process's worth of app (several may share one Redis); all are stopped at the end."""
    started: list[BotUnderTest] = []
    # Instances of one test share their memory, as processes sharing a Redis do.
    prefix = f"t{uuid.uuid4().hex[:8]}"

    async def start(**overrides: Any) -> BotUnderTest:
        options = {
            "slack_api_url": slack.api_url,
            "redis_url": redis_url,
            "redis_prefix": prefix,
            "memory_mode": memory_mode,
            **overrides,
        }
        instance = await BotUnderTest.start(test_settings(**options))
        started.append(instance)
        return instance

    yield start
    for instance in started:
        if not instance.stopped:
            await instance.stop(drain_seconds=1.0)


@pytest.fixture
async def bot(start_bot: StartBot) -> BotUnderTest:
    return await start_bot()


# The fake Slack on its own, for the fakes' own tests: started with Alice, and a plain Web API client to call it.
@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    slack = FakeSlack()
    slack.add_user("UALICE", "Alice")
    await slack.start()
    yield slack
    await slack.stop()


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=fake.api_url)


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterServers]:
    """A real three-node Redis Cluster (about 1.5 s to start), shared by a test module's cluster stories."""
    servers = RedisClusterServers()
    servers.start()
    yield servers
    servers.stop()
