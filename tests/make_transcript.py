"""Print what people see in Slack, as Markdown, from the fake Slack's record of a short session.

Run from the repository root: `python tests/make_transcript.py` (it starts its own Redis and fakes).
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tempfile
from pathlib import Path

os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]  # this checkout's `bot`, not an installed one

from fakes.openai import FakeOpenAI, RecordedRequest  # noqa: E402
from fakes.openai_tools import CallTool, Citation, SearchTheWeb  # noqa: E402
from fakes.slack import FakeSlack  # noqa: E402
from harness import BotUnderTest, RedisServer, free_port, say, test_settings  # noqa: E402
from tool_server import ToolServer  # noqa: E402

ALICE, BOB = "UALICE", "UBOB"
NAMES = {ALICE: "alice", BOB: "bob", "UBOT": "helper"}


def _quote(text: str) -> str:
    text = re.sub(r"<@(U[A-Z0-9]+)>", lambda m: "@" + NAMES.get(m.group(1), m.group(1)), text)
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def transcript(slack: FakeSlack, channel: str, thread_ts: str, title: str) -> str:
    lines = [f"**{title}**", ""]
    for message in slack.messages(channel, thread_ts):
        if message.get("subtype") == "assistant_app_thread":
            continue
        who = NAMES.get(message.get("user", ""), message.get("user", "?"))
        markdown = [b["text"] for b in message.get("blocks") or [] if b.get("type") == "markdown"]
        text = markdown[0] if markdown else message.get("text", "")
        pieces = len(message.get("chunks") or [])
        how = f" _(streamed in {pieces} pieces)_" if pieces > 1 else ""
        edits = message.get("edits", 0)
        how += f" _(edited {edits}× while written)_" if edits else ""
        lines += [f"**{who}**{how}:", _quote(text), ""]
        if message.get("files"):
            names = ", ".join(f"`{f['name']}` ({f['pretty_type']})" for f in message["files"])
            lines += [f"_(attached: {names})_", ""]
    return "\n".join(lines)


async def main() -> None:
    redis = RedisServer()
    redis.start()
    slack, model = FakeSlack(), FakeOpenAI()
    slack.add_user(ALICE, "Alice Liddell", "alice")
    slack.add_user(BOB, "Bob Builder", "bob")
    await slack.start()
    await model.start()
    os.environ["OPENAI_BASE_URL"] = model.base_url
    tickets = await ToolServer(free_port()).start()
    config = os.path.join(tempfile.mkdtemp(), "agent.toml")
    Path(config).write_text(f'web_search = true\n[mcp_servers.tickets]\nurl = "{tickets.url}"\n')  # noqa: ASYNC240
    bot = await BotUnderTest.start(test_settings(slack_api_url=slack.api_url, redis_url=redis.url, agent_config=config))
    out: list[str] = []
    try:
        model.stream_chunks, model.stream_chunk_delay = 6, 0.25
        model.reply_with(
            "Three ideas:\n\n1. **Shipwright** — builds and ships.\n2. **Tugboat** — nudges releases out.\n"
            "3. **Relay** — passes changes along.\n\nI'd pick *Relay*: short and easy to mention.",
            "Sure, <@UBOB>: `relay deploy <service>` reads well, e.g.\n\n```sh\nrelay deploy billing\n```",
        )
        question = await say(bot, slack, "C1", ALICE, "<@UBOT> what's a good name for our deploy bot?")
        await slack.wait_for_bot_messages("C1", question["ts"], 1, timeout=15)
        statuses = [status for _channel, _thread, status in slack.statuses if status]
        await say(bot, slack, "C1", BOB, "what would its command look like?", thread_ts=question["ts"])
        await slack.wait_for_bot_messages("C1", question["ts"], 2, timeout=15)
        out.append(transcript(slack, "C1", question["ts"], "A thread in #general"))
        out.append(f"_While thinking, the thread showed Slack's status “{statuses[0]}”, cleared by the answer._\n")

        model.stream_chunk_delay = 0.0

        def read_screenshot(request: RecordedRequest) -> str:
            if not request.files_sent:
                return "I can't see any screenshot."
            return (
                "The dialog says `connection refused` on port **5432**: the app can't reach Postgres. "
                "Is the database up, and is `DATABASE_URL` pointing at the right host?"
            )

        def remember_screenshot(request: RecordedRequest) -> str:
            if request.files_sent or not request.files_seen:  # seen once, then reached through the chain
                return "Which screenshot?"
            return (
                "The second line, `retrying in 30s`, means the app will keep trying on its own "
                "once the database is back; no restart needed."
            )

        model.reply_with(read_screenshot, remember_screenshot)
        image = slack.files.add(
            "screenshot.png",
            b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
            mimetype="image/png",
            filetype="png",
            pretty_type="PNG",
        )
        shot = slack.post_user_message("C1", ALICE, "<@UBOT> what's wrong in this screenshot?", files=[image])
        await bot.send_event(shot)
        await bot.mention(shot)
        await slack.wait_for_bot_messages("C1", shot["ts"], 1, timeout=15)
        await say(bot, slack, "C1", BOB, "and the second line?", thread_ts=shot["ts"])
        await slack.wait_for_bot_messages("C1", shot["ts"], 2, timeout=15)
        out.append(transcript(slack, "C1", shot["ts"], "A screenshot"))
        out.append("_The model saw the image once, with the question; the follow-up reached it through the chain._\n")

        empty = await say(bot, slack, "C1", BOB, "<@UBOT>")
        await slack.wait_for_bot_messages("C1", empty["ts"], 1)
        out.append(transcript(slack, "C1", empty["ts"], "An empty mention"))

        fix = "unplug it, smother it with a CO₂ extinguisher, and replace the fuser unit"
        model.reply_with(
            CallTool("lookup_ticket", {"ticket_id": "T-42"}),
            SearchTheWeb(
                f"T-42 is still **open**, and Bob owns it. The usual fix for a burning printer: {fix}.",
                citations=(
                    Citation("https://www.osha.gov/fire-safety", "Fire safety at work", "smother it"),
                    Citation("https://support.example.com/fuser", "Replacing a fuser unit", "replace the fuser unit"),
                ),
            ),
        )
        ticket = await say(bot, slack, "C2", ALICE, "<@UBOT> is T-42 still open? Is there a known fix?")
        [answer] = await slack.wait_for_bot_messages("C2", ticket["ts"], 1)
        out.append(transcript(slack, "C2", ticket["ts"], "A thread in #support, with tools"))
        steps = ", ".join(f"{t['title']} ({t['status']})" for t in slack.tasks("C2", answer["ts"]))
        out.append(f"_Above the answer, while it was written, Slack showed the steps: {steps}._\n")

        root = slack.post_user_message("D1", ALICE, "New chat", subtype="assistant_app_thread")
        context = {"channel_id": "C1", "team_id": "T0001"}
        await bot.send_event(
            {
                "type": "assistant_thread_started",
                "assistant_thread": {"user_id": ALICE, "channel_id": "D1", "thread_ts": root["ts"], "context": context},
                "event_ts": root["ts"],
            }
        )
        await slack.wait_for(lambda: bool(slack.suggested_prompts))
        model.reply_with("A **monad** wraps a value with a way to chain steps that keep the wrapping.")
        await say(bot, slack, "D1", ALICE, "what is a monad, in one sentence?", thread_ts=root["ts"])
        await slack.wait_for_bot_messages("D1", root["ts"], 2)
        model.fail_next(status=500, count=3)
        await say(bot, slack, "D1", ALICE, "and a functor?", thread_ts=root["ts"])
        await slack.wait_for_bot_messages("D1", root["ts"], 3, timeout=15)
        out.append(transcript(slack, "D1", root["ts"], "The AI assistant pane"))
        prompts = ", ".join(f"“{p['title']}”" for p in slack.suggested_prompts[0]["prompts"])
        out.append(f"_Suggested prompts under the greeting: {prompts}. Chat title: “{slack.titles[0]['title']}”._")
    finally:
        await bot.stop(drain_seconds=1.0)
        await tickets.stop()
        await slack.stop()
        await model.stop()
        redis.stop()
    print("\n".join(out))


if __name__ == "__main__":
    asyncio.run(main())
