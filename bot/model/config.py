"""The optional agent configuration file (`AGENT_CONFIG`, else `./agent.toml`): tools, model, per-channel set-up.

Parsed with `tomllib` into frozen values at start-up; every mistake is reported, one line each.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.model.operating_config import AccessConfig, Prices, parse_access, parse_prices

DEFAULT_PATH = "agent.toml"
DEFAULT_MCP_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_TURNS = 8

_TOP_KEYS = {
    "instructions",
    "model",
    "web_search",
    "slack_search",
    "max_turns",
    "mcp_servers",
    "channels",
    "access",
    "prices",
}
_SERVER_KEYS = {"url", "headers", "tools", "timeout"}
_CHANNEL_KEYS = {"instructions", "model", "web_search", "slack_search", "mcp_servers"}
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class AgentConfigError(Exception):
    """The file has mistakes; `lines` names each one (with its place in the file)."""

    def __init__(self, path: str, lines: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(lines))
        self.path = path
        self.lines = lines


@dataclass(frozen=True)
class McpServerConfig:
    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # values may hold secrets
    allowed_tools: tuple[str, ...] | None = None  # None: every tool the server offers
    timeout_seconds: float = DEFAULT_MCP_TIMEOUT_SECONDS


@dataclass(frozen=True)
class ChannelConfig:
    """What a channel changes; None keeps the file's top-level value."""

    instructions: str | None = None
    model: str | None = None
    web_search: bool | None = None
    slack_search: bool | None = None
    mcp_servers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class AgentConfig:
    instructions: str = ""
    model: str | None = None
    web_search: bool = False
    slack_search: bool = True  # on wherever the bot token holds search:read.public
    max_turns: int = DEFAULT_MAX_TURNS
    mcp_servers: tuple[McpServerConfig, ...] = ()
    channels: Mapping[str, ChannelConfig] = field(default_factory=dict)
    access: AccessConfig = field(default_factory=AccessConfig)
    prices: Prices = field(default_factory=Prices)
    path: str = ""  # where it was read from; empty when there is no file


@dataclass(frozen=True)
class ChannelSetup:
    """What one turn runs with: extra instructions, model (None: the bot's default) and the tools that are on."""

    instructions: str
    model: str | None
    web_search: bool
    mcp_servers: tuple[str, ...]
    slack_search: bool = True


def setup_for_channel(config: AgentConfig, channel_id: str) -> ChannelSetup:
    channel = config.channels.get(channel_id, ChannelConfig())
    every_server = tuple(server.name for server in config.mcp_servers)
    return ChannelSetup(
        instructions=config.instructions if channel.instructions is None else channel.instructions,
        model=channel.model or config.model,
        web_search=config.web_search if channel.web_search is None else channel.web_search,
        mcp_servers=every_server if channel.mcp_servers is None else channel.mcp_servers,
        slack_search=config.slack_search if channel.slack_search is None else channel.slack_search,
    )


def config_path(env: Mapping[str, str] | None = None) -> str | None:
    """The file to read: `AGENT_CONFIG` when set, else `./agent.toml` if it exists, else None."""
    env = os.environ if env is None else env
    named = env.get("AGENT_CONFIG", "").strip()
    if named:
        return named
    return DEFAULT_PATH if os.path.isfile(DEFAULT_PATH) else None


def load_agent_config(path: str | None, env: Mapping[str, str] | None = None) -> AgentConfig:
    """Read and check the file at `path` (None: no file, today's behaviour). Raises AgentConfigError."""
    if path is None:
        return AgentConfig()
    try:
        with open(path, "rb") as file:
            raw = tomllib.load(file)
    except FileNotFoundError:
        raise AgentConfigError(path, ["the file does not exist (AGENT_CONFIG names it)"]) from None
    except OSError as error:
        raise AgentConfigError(path, [f"cannot be read ({error.strerror})"]) from None
    except tomllib.TOMLDecodeError as error:
        raise AgentConfigError(path, [f"is not valid TOML: {error}"]) from None
    return parse_agent_config(raw, path=path, env=os.environ if env is None else env)


def configured_mcp_servers(env: Mapping[str, str] | None = None) -> tuple[McpServerConfig, ...]:
    """The MCP servers the configuration file names (for `doctor`); raises AgentConfigError on mistakes."""
    env = os.environ if env is None else env
    return load_agent_config(config_path(env), env).mcp_servers


def parse_agent_config(raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]) -> AgentConfig:
    checker = _Checker(env)
    checker.unknown_keys(raw, _TOP_KEYS, "")
    servers = checker.servers(raw.get("mcp_servers", {}))
    names = {server.name for server in servers}
    channels: dict[str, ChannelConfig] = {}
    raw_channels = checker.table(raw.get("channels", {}), "channels")
    for channel_id, section in raw_channels.items():
        where = f"[channels.{channel_id}]"
        if not _CHANNEL_ID.match(channel_id):
            checker.mistake(f"{where}: {channel_id!r} is not a Slack channel id (like C0123ABCD)")
        channels[channel_id] = checker.channel(checker.table(section, where), where, names)
    config = AgentConfig(
        instructions=checker.text(raw, "instructions", "") or "",
        model=checker.text(raw, "model", None),
        web_search=checker.boolean(raw, "web_search", False) or False,
        slack_search=bool(checker.boolean(raw, "slack_search", True)),
        max_turns=checker.count(raw, "max_turns", DEFAULT_MAX_TURNS),
        mcp_servers=servers,
        channels=channels,
        access=parse_access(raw.get("access"), checker.mistake),
        prices=parse_prices(raw.get("prices"), checker.mistake),
        path=path,
    )
    if checker.mistakes:
        raise AgentConfigError(path, checker.mistakes)
    return config


@dataclass
class _Checker:
    env: Mapping[str, str]
    mistakes: list[str] = field(default_factory=list)

    def mistake(self, line: str) -> None:
        self.mistakes.append(line)

    def unknown_keys(self, section: Mapping[str, Any], known: set[str], where: str) -> None:
        for key in section:
            if key not in known:
                place = f"{where}: " if where else ""
                self.mistake(f"{place}unknown key {key!r} (known: {', '.join(sorted(known))})")

    def table(self, value: Any, where: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        self.mistake(f"{where} must be a table")
        return {}

    def text(self, section: Mapping[str, Any], key: str, default: str | None, where: str = "") -> str | None:
        value = section.get(key, default)
        if value is None or isinstance(value, str):
            return value.strip() if isinstance(value, str) else value
        self.mistake(f"{(where + ': ') if where else ''}{key} must be a string")
        return default

    def boolean(self, section: Mapping[str, Any], key: str, default: bool | None, where: str = "") -> bool | None:
        value = section.get(key, default)
        if value is None or isinstance(value, bool):
            return value
        self.mistake(f"{(where + ': ') if where else ''}{key} must be true or false")
        return default

    def count(self, section: Mapping[str, Any], key: str, default: int) -> int:
        value = section.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100:
            return value
        self.mistake(f"{key} must be a whole number from 1 to 100")
        return default

    def names(self, section: Mapping[str, Any], key: str, where: str) -> tuple[str, ...] | None:
        value = section.get(key)
        if value is None:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.mistake(f"{where}: {key} must be a list of names")
        return None

    def servers(self, value: Any) -> tuple[McpServerConfig, ...]:
        servers = []
        for name, section in self.table(value, "mcp_servers").items():
            where = f"[mcp_servers.{name}]"
            if not _SERVER_NAME.match(name):
                self.mistake(f"{where}: a server name may hold only letters, digits, '-' and '_'")
            server = self.server(name, self.table(section, where), where)
            if server is not None:
                servers.append(server)
        return tuple(servers)

    def server(self, name: str, section: dict[str, Any], where: str) -> McpServerConfig | None:
        self.unknown_keys(section, _SERVER_KEYS, where)
        url = section.get("url")
        if not isinstance(url, str) or not _is_http_url(url):
            self.mistake(f"{where}: url must be an http(s) URL, got {url!r}")
            url = None
        headers: dict[str, str] = {}
        for header, template in self.table(section.get("headers", {}), f"{where} headers").items():
            if not isinstance(template, str):
                self.mistake(f"{where}: header {header!r} must be a string")
                continue
            headers[header] = self.expand(template, f"{where}: header {header!r}")
        timeout = section.get("timeout", DEFAULT_MCP_TIMEOUT_SECONDS)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
            self.mistake(f"{where}: timeout must be a number of seconds above 0 and at most 600")
            timeout = DEFAULT_MCP_TIMEOUT_SECONDS
        tools = self.names(section, "tools", where)
        if url is None:
            return None
        return McpServerConfig(name=name, url=url, headers=headers, allowed_tools=tools, timeout_seconds=float(timeout))

    def expand(self, template: str, where: str) -> str:
        """`${NAME}` becomes the environment variable's value, so no secret needs to sit in the file."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env:
                self.mistake(f"{where} names ${{{name}}}, which is not set in the environment")
                return ""
            return self.env[name]

        return _ENV_REFERENCE.sub(value, template)

    def channel(self, section: dict[str, Any], where: str, server_names: set[str]) -> ChannelConfig:
        self.unknown_keys(section, _CHANNEL_KEYS, where)
        servers = self.names(section, "mcp_servers", where)
        for name in servers or ():
            if name not in server_names:
                self.mistake(f"{where}: mcp_servers names {name!r}, which no [mcp_servers.{name}] section defines")
        return ChannelConfig(
            instructions=self.text(section, "instructions", None, where),
            model=self.text(section, "model", None, where),
            web_search=self.boolean(section, "web_search", None, where),
            slack_search=self.boolean(section, "slack_search", None, where),
            mcp_servers=servers,
        )


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
