"""`python -m bot`: read the settings, then serve Slack in Socket Mode or HTTP mode; `python -m bot doctor`: check
the set-up."""

from __future__ import annotations

import sys

from bot.running.logs import configure_logging
from bot.running.processes import serve_alone, serve_in_workers
from bot.running.settings import Settings, SettingsError

USAGE = "usage: python -m bot [doctor]"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["doctor"]:
        from bot.running.doctor import main as doctor

        return doctor()
    if args:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        if len(error.problems) == 1:
            print(f"Cannot start: {error}", file=sys.stderr)
        else:
            print(f"Cannot start: {len(error.problems)} settings need fixing:", file=sys.stderr)
            for problem in error.problems:
                print(f"  {problem}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, secrets=settings.secrets, log_format=settings.log_format)
    if settings.web_concurrency > 1:
        return serve_in_workers(settings)
    return serve_alone(settings)


if __name__ == "__main__":
    sys.exit(main())
