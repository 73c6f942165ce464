"""`python -m bot doctor`: check the set-up a new admin has just made, and say how to fix what fails.

Each check is one small function returning an `Outcome`; `CHECKS` lists them in order (one more check is one
more function there). A check that needs an earlier one to have passed reads what it left in `Checkup`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import openai
import yaml
from openai import AsyncOpenAI
from openai.types.responses import Response
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.config import AgentConfigError, config_path, load_agent_config
from bot.model.mcp_servers import probe
from bot.running.logs import redact
from bot.running.processes import EMBEDDED_REDIS_DIR, run_event_loop
from bot.running.settings import Settings, SettingsError
from bot.shared.quoted import SEARCH_SCOPE
from bot.slack.client import build_client
from bot.slack.workspace_search import search_info
from bot.state.embedded_redis import EmbeddedRedis, directory_problem, running_server_url
from bot.state.redis_link import answered_within, connect

CHECK_TIMEOUT_SECONDS = 30.0
Status = Literal["ok", "FAILED", "skipped"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str
    fix: str = ""


def passed(detail: str) -> Outcome:
    return Outcome("ok", detail)


def failed(detail: str, fix: str) -> Outcome:
    return Outcome("FAILED", detail, fix)


def skipped(detail: str) -> Outcome:
    return Outcome("skipped", detail)


@dataclass
class Checkup:
    """What the checks share: the settings, the clients, and what earlier checks found."""

    settings: Settings
    slack: AsyncWebClient
    model: AsyncOpenAI
    manifest_path: Path | None
    embedded_dir: str
    granted_scopes: set[str] | None = None  # from the bot token check
    first_response: Response | None = None  # from the model check


Check = Callable[[Checkup], Awaitable[Outcome]]


# ---- the checks


async def check_bot_token(checkup: Checkup) -> Outcome:
    try:
        auth = await checkup.slack.auth_test()
    except SlackApiError as error:
        return failed(
            f"Slack refused SLACK_BOT_TOKEN ({error.response.get('error')})",
            "copy the Bot User OAuth Token (xoxb-…) again from OAuth & Permissions (reinstall the app if revoked)",
        )
    scopes = auth.headers.get("x-oauth-scopes")
    if scopes is not None:
        checkup.granted_scopes = {s.strip() for s in scopes.split(",") if s.strip()}
    return passed(f"@{auth.get('user')} in {auth.get('team')} ({auth.get('team_id')})")


async def check_bot_scopes(checkup: Checkup) -> Outcome:
    if checkup.granted_scopes is None:
        return skipped("needs a working bot token (Slack lists its scopes in each answer)")
    if checkup.manifest_path is None:
        return skipped("manifest.yml not found: run the doctor from the bot's folder to compare scopes")
    wanted = set(_manifest(checkup.manifest_path)["oauth_config"]["scopes"]["bot"])
    missing = sorted(wanted - checkup.granted_scopes)
    if missing:
        return failed(
            f"the bot token lacks {', '.join(missing)}",
            "add them under OAuth & Permissions > Bot Token Scopes (or paste manifest.yml again), then reinstall",
        )
    return passed(f"all {len(wanted)} scopes of manifest.yml")


async def check_connection_mode(checkup: Checkup) -> Outcome:
    settings = checkup.settings
    if not settings.socket_mode:
        return passed(
            f"HTTP mode on port {settings.port}: Slack's request URLs must be https://<your host>/slack/events"
        )
    app_client = AsyncWebClient(base_url=settings.slack_api_url)
    try:
        await app_client.apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as error:
        return failed(
            f"Slack refused SLACK_APP_TOKEN ({error.response.get('error')})",
            "create an app-level token with connections:write under Basic Information > App-Level Tokens, "
            "and turn Socket Mode on",
        )
    workers = settings.web_concurrency
    return passed(f"Socket Mode: the app token opens connections ({workers} at a time, one per worker)")


async def check_redis(checkup: Checkup) -> Outcome:
    url = checkup.settings.redis_url
    if url:
        client = (await connect(url)).client
        try:
            info = await answered_within(client.info("server"))
        except (RedisError, OSError) as error:
            return failed(
                f"{_without_password(url)} does not answer ({type(error).__name__})",
                "check REDIS_URL (host, port, password, rediss:// for TLS), or leave it empty for the embedded Redis",
            )
        finally:
            await client.aclose()
        return passed(f"{_without_password(url)} answers (Redis {info.get('redis_version', '?')})")
    running = running_server_url(checkup.embedded_dir)
    if running:  # a bot is using it: ask it, and leave it running
        client = (await connect(running)).client
        try:
            await client.ping()
        finally:
            await client.aclose()
        return passed(f"the embedded Redis in {checkup.embedded_dir}/ is running and answers")
    problem = directory_problem(checkup.embedded_dir)
    if problem:
        return failed(
            f"the embedded Redis cannot keep its data in {checkup.embedded_dir}/: {problem}",
            "run the bot from a folder it may write to, or set REDIS_URL",
        )
    embedded = await asyncio.to_thread(EmbeddedRedis.start, checkup.embedded_dir)
    try:
        client = (await connect(embedded.url)).client
        try:
            await client.ping()
        finally:
            await client.aclose()
    finally:
        await embedded.aclose()
    return passed(f"embedded Redis (REDIS_URL is empty), persisted in {checkup.embedded_dir}/")


async def check_model(checkup: Checkup) -> Outcome:
    model = checkup.settings.openai_model
    try:
        # 16 is the smallest max_output_tokens the Responses API accepts.
        response = await checkup.model.responses.create(model=model, input="Say OK.", max_output_tokens=16, store=True)
    except openai.AuthenticationError:
        return failed("OpenAI refused OPENAI_API_KEY", "create a key at https://platform.openai.com/api-keys")
    except openai.NotFoundError:
        return failed(f"no model {model!r} for this key", "set OPENAI_MODEL to a model your organisation can use")
    except openai.APIStatusError as error:
        return failed(f"OpenAI answered {error.status_code} ({error.code or error.message})", _OPENAI_FIX)
    except openai.APIConnectionError:
        return failed(f"cannot reach {checkup.model.base_url}", _OPENAI_FIX)
    checkup.first_response = response
    return passed(f"{model} answers")


async def check_stored_responses(checkup: Checkup) -> Outcome:
    first = checkup.first_response
    if first is None:
        return skipped("needs a working model")
    fix = "this organisation does not keep responses (zero data retention?): set MEMORY_MODE=local"
    if not first.store:
        return failed("OpenAI did not store the model's answer, so turns cannot be chained", fix)
    try:
        await checkup.model.responses.create(
            model=checkup.settings.openai_model,
            input="And again.",
            previous_response_id=first.id,
            max_output_tokens=16,
            store=False,
        )
    except openai.BadRequestError as error:
        return failed(f"a chained request was refused ({error.code})", fix)
    finally:
        with contextlib.suppress(openai.OpenAIError):  # the doctor's test answer is not kept for 30 days
            await checkup.model.responses.delete(first.id)
    return passed("a previous_response_id round trip works")


async def check_mcp_servers(checkup: Checkup) -> Outcome:
    path = checkup.settings.agent_config or config_path({})
    try:
        servers = load_agent_config(path).mcp_servers
    except AgentConfigError as error:
        return failed(
            f"{error.path}: {'; '.join(error.lines)}", "correct the file (agent.example.toml shows the format)"
        )
    if not servers:
        return skipped("none configured (AGENT_CONFIG or ./agent.toml)")
    probes = await asyncio.gather(*(probe(server) for server in servers))
    down = [p for p in probes if not p.ok]
    if down:
        return failed(
            "; ".join(f"{p.name}: {p.detail}" for p in down),
            f"check each server's url, headers and tools in {path}, or remove it there",
        )
    return passed("; ".join(f"{p.name}: {p.detail}" for p in probes))


async def check_slack_search(checkup: Checkup) -> Outcome:
    if checkup.granted_scopes is None:
        return skipped("needs a working bot token (Slack lists its scopes in each answer)")
    if SEARCH_SCOPE not in checkup.granted_scopes:
        return skipped(f"off: the bot token lacks {SEARCH_SCOPE} (add it to search public channels as the asker)")
    try:
        semantic = await search_info(checkup.slack)
    except SlackApiError as error:
        return failed(
            f"assistant.search.info refused ({error.response.get('error')})",
            "Slack's Real-time Search may not be available on this workspace's plan; "
            "set slack_search = false in agent.toml to stop offering it",
        )
    kind = "semantic (AI) and keyword" if semantic else "keyword (semantic AI search is off for the workspace)"
    return passed(f"on: {kind} search of public channels, as the person asking")


CHECKS: list[tuple[str, Check]] = [
    ("Slack bot token", check_bot_token),
    ("bot scopes", check_bot_scopes),
    ("Slack connection", check_connection_mode),
    ("Redis", check_redis),
    ("model", check_model),
    ("stored responses", check_stored_responses),
    ("MCP servers", check_mcp_servers),
    ("Slack search", check_slack_search),
]


# ---- running and printing


async def diagnose(
    settings: Settings, *, manifest_path: Path | None, embedded_dir: str = EMBEDDED_REDIS_DIR
) -> list[tuple[str, Outcome]]:
    slack = build_client(settings.slack_bot_token, settings.slack_api_url)
    model = AsyncOpenAI(api_key=settings.openai_api_key, timeout=CHECK_TIMEOUT_SECONDS, max_retries=1)
    checkup = Checkup(settings, slack, model, manifest_path, embedded_dir)
    results: list[tuple[str, Outcome]] = []
    try:
        for name, check in CHECKS:
            results.append((name, await _run(check, checkup)))
    finally:
        await model.close()
        await slack.session.close()
    return results


async def _run(check: Check, checkup: Checkup) -> Outcome:
    try:
        return await asyncio.wait_for(check(checkup), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return failed(
            f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s", "check the network and the URLs in the settings"
        )
    except (aiohttp.ClientError, OSError) as error:
        return failed(
            f"cannot reach Slack at {checkup.settings.slack_api_url} ({type(error).__name__})",
            "check SLACK_API_URL (or leave it unset) and this host's network",
        )
    except Exception as error:  # a check must report, never crash the doctor
        return failed(f"unexpected {type(error).__name__}: {redact(str(error))[:200]}", "please report it")


def render(results: list[tuple[str, Outcome]]) -> str:
    width = max(len(name) for name, _ in results)
    lines = []
    for name, outcome in results:
        lines.append(f"{outcome.status:<7}  {name:<{width}}  {outcome.detail}")
        if outcome.fix:
            lines.append(f"{'':<7}  {'':<{width}}  fix: {outcome.fix}")
    failures = sum(outcome.status == "FAILED" for _, outcome in results)
    lines.append("")
    lines.append(
        "Everything needed works: start the bot with `python -m bot`."
        if not failures
        else f"{failures} check(s) failed: fix them and run `python -m bot doctor` again."
    )
    return "\n".join(lines)


def find_manifest() -> Path | None:
    """manifest.yml in the working directory, else beside the `bot` package (a source checkout)."""
    for folder in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (folder / "manifest.yml").is_file():
            return folder / "manifest.yml"
    return None


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        fix = "fix the setting in .env or the environment"
        print(render([("settings", failed(problem, fix)) for problem in error.problems]))
        return 1
    results = run_event_loop(diagnose(settings, manifest_path=find_manifest()))
    print(render(results))
    return 0 if all(outcome.status != "FAILED" for _, outcome in results) else 1


_OPENAI_FIX = "check OPENAI_API_KEY, OPENAI_BASE_URL and your organisation's limits"


def _manifest(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text()))


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


if __name__ == "__main__":
    sys.exit(main())
