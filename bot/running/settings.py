"""Configuration from the environment (and a `.env` file in the working directory)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from agents.models.default_models import get_default_model

from bot.slack.file_limits import MAX_FILE_MB

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
MEMORY_MODES = ("responses", "conversations", "local")
OPENAI_APIS = ("responses", "chat_completions")
# Each worker holds a connection of its own; Slack allows an app 10 (api.slack.com/apis/connections/socket-implement).
SOCKET_MODE_MAX_CONNECTIONS = 10


class SettingsError(Exception):
    """Settings are missing or malformed: one line each, naming the setting and where to get it."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str = field(repr=False)
    openai_api_key: str = field(repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    openai_model: str = field(default_factory=get_default_model)
    bot_instructions: str = ""
    redis_url: str = ""
    redis_prefix: str = "slackbot"
    response_retention_days: float = 30.0
    thread_memory_days: float = 90.0
    history_budget_chars: int = 48_000
    # Server-side compaction above this many tokens (0: off). Under gpt-5.6-luna's 272K price step and its 1.05M window.
    compact_threshold_tokens: int = 200_000
    daily_token_budget_per_user: int = 0  # 0: unlimited
    daily_token_budget_per_channel: int = 0
    daily_token_budget_per_workspace: int = 0
    admin_user_ids: frozenset[str] = frozenset()  # see the usage view, besides the workspace's admins and owners
    metrics_token: str = field(default="", repr=False)  # GET /metrics asks for it as a Bearer token when set
    log_format: str = "text"  # or "json": one JSON object per line
    allowed_bot_ids: frozenset[str] = frozenset()
    openai_timeout_seconds: float = 120.0
    # Not read from the environment: an answer complete sooner is posted at once, without status or streaming.
    instant_answer_seconds: float = 0.3
    openai_max_retries: int = 2  # the openai SDK's own retries of 5xx, 429, timeouts and connection errors
    port: int = 3000
    port_is_set: bool = False
    log_level: str = "INFO"
    max_file_mb: int = 20
    history_max_images: int = 5
    # Not read from the environment: issue 10's MEMORY_MODE turns uploads off where OpenAI must store nothing.
    file_uploads: bool = True
    file_inline_max_bytes: int = 4 * 1024 * 1024  # bigger images and PDFs are uploaded when uploads are allowed
    agent_config: str = ""  # AGENT_CONFIG: the agent set-up file; empty: ./agent.toml when it exists
    memory_mode: str = "responses"  # where a conversation's memory lives: see bot/model_memory/
    openai_api: str = "responses"  # "chat_completions" for model servers without the Responses API (local mode)
    web_concurrency: int = 1  # processes serving Slack, each with its own event loop (one core each)
    approval_timeout_seconds: float = 3600.0  # how long a tool call waits for approval before it expires
    long_term_memory: bool = True  # LONG_TERM_MEMORY=on|off: personal and channel notes (docs/long-term-memory.md)
    memory_notes_max: int = 50  # MEMORY_NOTES_MAX: notes per person (per workspace) and per channel

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(
            s
            for s in (
                self.slack_bot_token,
                self.openai_api_key,
                self.slack_signing_secret,
                self.slack_app_token,
                self.metrics_token,
            )
            if s
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings; `env` defaults to os.environ after loading `./.env` (which never overrides)."""
        if env is None:
            from dotenv import load_dotenv

            load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
            env = os.environ
        reader = _Reader(env)
        bot_token = reader.required(
            "SLACK_BOT_TOKEN",
            prefix="xoxb-",
            where="Slack app settings > OAuth & Permissions > Bot User OAuth Token",
        )
        app_token = reader.optional_token(
            "SLACK_APP_TOKEN",
            prefix="xapp-",
            where="Slack app settings > Basic Information > App-Level Tokens (scope connections:write)",
        )
        signing_secret = reader.text("SLACK_SIGNING_SECRET")
        if not app_token and not signing_secret:
            reader.problem(
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify Slack's requests "
                "(Slack app settings > Basic Information > Signing Secret), "
                "or set SLACK_APP_TOKEN to use Socket Mode."
            )
        web_concurrency = int(reader.number("WEB_CONCURRENCY", 1, minimum=1, maximum=64))
        if app_token and web_concurrency > SOCKET_MODE_MAX_CONNECTIONS:
            reader.problem(
                f"WEB_CONCURRENCY must be at most {SOCKET_MODE_MAX_CONNECTIONS} in Socket Mode (Slack allows an app "
                f"{SOCKET_MODE_MAX_CONNECTIONS} connections), got {web_concurrency}."
            )
        # Every setting is read before any is reported: an admin fixes them all in one go, not one per start.
        values = dict(
            slack_bot_token=bot_token,
            slack_app_token=app_token,
            slack_signing_secret=signing_secret,
            slack_api_url=reader.url("SLACK_API_URL", DEFAULT_SLACK_API_URL, trailing_slash=True),
            openai_api_key=reader.required(
                "OPENAI_API_KEY", where="https://platform.openai.com/api-keys (or your gateway's key)"
            ),
            openai_model=reader.text("OPENAI_MODEL") or get_default_model(),
            bot_instructions=reader.text("BOT_INSTRUCTIONS"),
            redis_url=reader.text("REDIS_URL"),
            redis_prefix=reader.text("REDIS_PREFIX") or "slackbot",
            response_retention_days=reader.number("RESPONSE_RETENTION_DAYS", 30.0, minimum=0.0),
            thread_memory_days=reader.number("THREAD_MEMORY_DAYS", 90.0, minimum=1.0),
            history_budget_chars=int(reader.number("HISTORY_BUDGET_CHARS", 48_000, minimum=1_000)),
            compact_threshold_tokens=int(reader.number("COMPACT_THRESHOLD_TOKENS", 200_000, minimum=0)),
            daily_token_budget_per_user=int(reader.number("DAILY_TOKEN_BUDGET_PER_USER", 0, minimum=0)),
            daily_token_budget_per_channel=int(reader.number("DAILY_TOKEN_BUDGET_PER_CHANNEL", 0, minimum=0)),
            daily_token_budget_per_workspace=int(reader.number("DAILY_TOKEN_BUDGET_PER_WORKSPACE", 0, minimum=0)),
            admin_user_ids=reader.ids("ADMIN_USER_IDS"),
            metrics_token=reader.text("METRICS_TOKEN"),
            log_format=reader.choice("LOG_FORMAT", "text", ("text", "json"), upper=False),
            allowed_bot_ids=frozenset(b.strip() for b in reader.text("ALLOWED_BOT_IDS").split(",") if b.strip()),
            openai_timeout_seconds=reader.number("OPENAI_TIMEOUT_SECONDS", 120.0, minimum=1.0),
            openai_max_retries=int(reader.number("OPENAI_MAX_RETRIES", 2, minimum=0, maximum=10)),
            port=int(reader.number("PORT", 3000, minimum=1, maximum=65535)),
            port_is_set=bool(reader.text("PORT")),
            log_level=reader.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            # Beyond 32 MB no file can reach the model: OpenAI takes 32 MB of PDFs per request (images: 20 MB each).
            max_file_mb=int(reader.number("MAX_FILE_MB", 20, minimum=1, maximum=MAX_FILE_MB)),
            history_max_images=int(reader.number("HISTORY_MAX_IMAGES", 5, minimum=0, maximum=50)),
            agent_config=reader.text("AGENT_CONFIG"),
            **reader.memory_choice(),
            web_concurrency=web_concurrency,
            approval_timeout_seconds=reader.number("APPROVAL_TIMEOUT_SECONDS", 3600.0, minimum=10.0, maximum=7 * 86400),
            long_term_memory=reader.choice("LONG_TERM_MEMORY", "on", ("on", "off"), upper=False) == "on",
            memory_notes_max=int(reader.number("MEMORY_NOTES_MAX", 50, minimum=1, maximum=500)),
        )
        if reader.problems:
            raise SettingsError(reader.problems)
        return cls(**values)


@dataclass(frozen=True)
class _Reader:
    env: Mapping[str, str]
    problems: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        self.problems.append(message)

    def text(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def ids(self, name: str) -> frozenset[str]:
        return frozenset(part.strip() for part in self.text(name).split(",") if part.strip())

    def required(self, name: str, *, where: str, prefix: str = "") -> str:
        value = self.text(name)
        if not value:
            self.problem(f"{name} is not set: get it from {where}.")
        elif prefix and not value.startswith(prefix):
            self.problem(f"{name} should start with '{prefix}': get it from {where}.")
        return value

    def optional_token(self, name: str, *, prefix: str, where: str) -> str:
        value = self.text(name)
        if value and not value.startswith(prefix):
            self.problem(f"{name} should start with '{prefix}': get it from {where}.")
        return value

    def number(self, name: str, default: float, *, minimum: float, maximum: float | None = None) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problem(f"{name} must be a number, got {raw!r}.")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"at least {minimum:g}" + (f" and at most {maximum:g}" if maximum is not None else "")
            self.problem(f"{name} must be {bounds}, got {raw!r}.")
            return default
        return value

    def url(self, name: str, default: str, *, trailing_slash: bool) -> str:
        value = self.text(name) or default
        if not value.startswith(("http://", "https://")):
            self.problem(f"{name} must be an http(s) URL, got {value!r}.")
            return default
        if trailing_slash and not value.endswith("/"):
            value += "/"
        return value

    def choice(self, name: str, default: str, choices: tuple[str, ...], *, upper: bool = True) -> str:
        value = self.text(name) or default
        value = value.upper() if upper else value.lower()
        if value not in choices:
            self.problem(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
            return default
        return value

    def memory_choice(self) -> dict[str, str]:
        known = len(self.problems)
        mode = self.choice("MEMORY_MODE", "responses", MEMORY_MODES, upper=False)
        api = self.choice("OPENAI_API", "responses", OPENAI_APIS, upper=False)
        if api == "chat_completions" and mode != "local" and len(self.problems) == known:
            self.problem(
                f"OPENAI_API=chat_completions needs MEMORY_MODE=local: Chat Completions cannot use "
                f"memory kept at the model provider (MEMORY_MODE={mode})."
            )
        return {"memory_mode": mode, "openai_api": api}
