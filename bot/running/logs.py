"""Logging set-up, as text lines or one JSON object per line (`LOG_FORMAT=json`); secrets never reach a log line."""

from __future__ import annotations

import datetime
import json
import logging
import re
from collections.abc import Iterable

_TOKEN_PATTERN = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{8,})")


def redact(text: str) -> str:
    """`text` with anything shaped like a Slack or OpenAI token masked."""
    return _TOKEN_PATTERN.sub("[redacted]", text)


class RedactSecrets(logging.Filter):
    """Masks the configured secrets, and anything shaped like a Slack or OpenAI token, in every record."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN_PATTERN.sub("[redacted]", message)
        for secret in self._secrets:
            redacted = redacted.replace(secret, "[redacted]")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# Fields a record may carry (`logger.info(..., extra={"turn": {...}})`) that the JSON lines spread out.
STRUCTURED_EXTRAS = ("turn",)


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message (redacted by `RedactSecrets` before), the worker,
    and a turn's fields (conversation, model, context, tokens, duration) when the record carries them."""

    def __init__(self, *, process_name: str = "", secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._process_name = process_name
        self._secrets = [s for s in secrets if len(s) >= 6]

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self._process_name:
            line["process"] = self._process_name
        for extra in STRUCTURED_EXTRAS:
            fields = getattr(record, extra, None)
            if isinstance(fields, dict):
                line.update({k: v for k, v in fields.items() if k not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        text = redact(json.dumps(line, default=str))
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text


def configure_logging(
    level: str, *, secrets: Iterable[str] = (), process_name: str = "", log_format: str = "text"
) -> None:
    """`process_name` tags each line (e.g. "worker 2") when several processes write to one log."""
    secrets = tuple(secrets)
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonLines(process_name=process_name, secrets=secrets))
    else:
        tag = f"[{process_name}] " if process_name else ""
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {tag}%(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library request dumps are noise at INFO and may carry message text.
    for noisy in ("slack_sdk", "slack_bolt", "openai", "agents", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.INFO))
    # HTTP clients log every request's URL at INFO, and an MCP server's URL may carry a token in its query.
    for client in ("httpx", "httpx2"):
        logging.getLogger(client).setLevel(max(logging.getLevelName(level), logging.WARNING))
