"""One app under benchmark in its own process: `python -m benchmarks.serve bot|baseline|sdk|floor ...`.

Each app gets a process of its own so that its CPU time and resident memory are its own, not the fakes'.
It prints `READY <url>` once it serves, and stops on SIGTERM (writing its profile when asked for one).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
from pathlib import Path

from aiohttp import web

MODEL = "gpt-test"
# The bot's listen backlog (bot.running.server.LISTEN_BACKLOG, not imported: the floor's memory must be its own).
LISTEN_BACKLOG = 2048


async def serve(app_name: str, *, slack_api_url: str, redis_url: str, prefix: str, bot_settings: dict) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if app_name in ("floor", "sdk"):
        # Only what the handler needs is imported here, so that its resident memory is its own.
        if app_name == "floor":
            from .floor import FloorHandler as Handler
        else:
            from .sdk_handler import SdkHandler as Handler

        handler = Handler(
            slack_api_url=slack_api_url,
            bot_token=os.environ["SLACK_BOT_TOKEN"],
            signing_secret=os.environ["SLACK_SIGNING_SECRET"],
            model=MODEL,
        )
        runner = web.AppRunner(handler.web_app(), access_log=None)
        await runner.setup()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        await web.TCPSite(runner, "127.0.0.1", port, backlog=LISTEN_BACKLOG).start()  # as the bot's
        print(f"READY http://127.0.0.1:{port}", flush=True)
        await stop.wait()
        await runner.cleanup()
        await handler.close()
        return
    from harness import BotUnderTest, test_settings

    # The baseline is the same bot that never chains: with no retention it rebuilds every turn from Slack.
    retention = {"response_retention_days": 0.0} if app_name == "baseline" else {}
    settings = test_settings(
        slack_api_url=slack_api_url,
        redis_url=redis_url,
        redis_prefix=prefix,
        openai_model=MODEL,
        **retention,
        **bot_settings,
    )
    bot = await BotUnderTest.start(settings)
    print(f"READY {bot.url}", flush=True)
    await stop.wait()
    await bot.stop(drain_seconds=5.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=("bot", "baseline", "sdk", "floor"))
    parser.add_argument("--slack-api-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of this process here")
    parser.add_argument("--memory-mode", default="responses", help="the bot's MEMORY_MODE")
    parser.add_argument("--history-budget", type=int, help="the bot's HISTORY_BUDGET_CHARS")
    parser.add_argument("--long-term-memory", choices=("on", "off"), default="on", help="the bot's LONG_TERM_MEMORY")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bot_settings = {"memory_mode": args.memory_mode, "long_term_memory": args.long_term_memory == "on"}
    if args.history_budget:
        bot_settings["history_budget_chars"] = args.history_budget
    run = serve(
        args.app,
        slack_api_url=args.slack_api_url,
        redis_url=args.redis_url,
        prefix=args.prefix,
        bot_settings=bot_settings,
    )
    if args.profile is None:
        asyncio.run(run)
        return
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="disabled", interval=0.001)
    profiler.start()
    try:
        asyncio.run(run)
    finally:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, show_all=False))
        args.profile.with_suffix(".html").write_text(profiler.output_html())
        if profiler.last_session is not None:  # re-render with `pyinstrument --load <file>.pyisession`
            profiler.last_session.save(args.profile.with_suffix(".pyisession"))


if __name__ == "__main__":
    main()
