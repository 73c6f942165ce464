"""Logging set-up; secrets never reach a log line."""

from __future__ import annotations

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


def configure_logging(level: str, *, secrets: Iterable[str] = (), process_name: str = "") -> None:
    """`process_name` tags each line (e.g. "worker 2") when several processes write to one log."""
    handler = logging.StreamHandler()
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
