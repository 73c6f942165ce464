"""`python -m bot`: read the settings, then serve Slack in Socket Mode or HTTP mode."""

from __future__ import annotations

import asyncio
import sys

from .app import StartupError, build_bot
from .logs import configure_logging
from .server import serve
from .settings import Settings, SettingsError


def main() -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, secrets=settings.secrets)
    try:
        asyncio.run(_run(settings))
    except StartupError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 1
    return 0


async def _run(settings: Settings) -> None:
    bot = await build_bot(settings)
    await serve(bot)


if __name__ == "__main__":
    sys.exit(main())
