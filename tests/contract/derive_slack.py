"""Derive `slack_methods.json`, the names-only contract of every Slack Web API method the bot or its fake serves.

Source: Slack's method reference as data, in the public repository smstoslack/slack_kit (`priv/docs/methods/*.json`
and `priv/docs/common_errors.json`, scraped from https://docs.slack.dev/reference/methods by its
`lib/mix/tasks/update_slack_api.exs`). Only names are kept: each argument with whether it is required, each error
code, the rate tier's label and the bot scopes; none of the docs' text.

    python tests/contract/derive_slack.py /path/to/slack_kit-checkout   # or a bare git dir: it reads HEAD

Where the reference as scraped disagrees with Slack's current pages or with what Slack answers, `CORRECTIONS` below
says so, with the source; `derived_from` in the output names the commit read.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("slack_methods.json")

# Every method the bot calls (bot/, through slack_sdk or Bolt) and every one the fake Slack serves for the tests.
METHODS = (
    "apps.connections.open",  # Bolt's Socket Mode; python -m bot doctor
    "assistant.threads.setStatus",
    "assistant.threads.setSuggestedPrompts",
    "assistant.threads.setTitle",
    "auth.test",
    "chat.appendStream",
    "chat.delete",  # the fake serves it (a person or an admin deleting an answer)
    "chat.postEphemeral",
    "chat.postMessage",
    "chat.startStream",
    "chat.stopStream",
    "chat.update",
    "conversations.history",
    "conversations.info",  # is a linked, found or summarized message's channel public, is the bot in it
    "conversations.open",  # the person's DM with the bot, for the "Summarize this thread" shortcut
    "conversations.replies",
    "files.info",
    "reactions.add",
    "reactions.remove",
    "users.info",
    "usergroups.users.list",  # the access rules: members of the user groups `[access] people` names
    "views.publish",
    "assistant.search.context",  # search_slack (Real-time Search API)
    "assistant.search.info",  # python -m bot doctor
)

# Corrections by hand, each with its source. The streaming methods changed in 2026 (chunks) faster than the scrape.
CORRECTIONS: dict[str, dict[str, Any]] = {
    "chat.appendStream": {
        # The scrape (and the older page) mark `markdown_text` required; the current page
        # (https://docs.slack.dev/reference/methods/chat.appendStream.md) lists it optional beside `chunks`, and
        # an append needs one of the two.
        "args": {"markdown_text": False},
        "one_of": [["markdown_text", "chunks"]],
        # A stream keeps the content mode of its first payload; the other kind is refused. Not on the scraped page;
        # documented by independent clients hitting it (vercel/chat #173, NousResearch/hermes-agent #104173).
        "errors": ["streaming_mode_mismatch", "cannot_provide_both_markdown_text_and_chunks"],
    },
    "assistant.threads.setSuggestedPrompts": {
        # The scrape marks `thread_ts` required; the current page makes it optional ("If not provided, the prompts
        # will be set for the latest message in the channel") and says an agent app's call with it "will silently
        # fail" (https://docs.slack.dev/reference/methods/assistant.threads.setSuggestedPrompts).
        "args": {"thread_ts": False},
    },
    "chat.startStream": {
        # The scrape marks `thread_ts` required, as the bot always sends it; a newer page says it may be omitted
        # to stream a top-level message in a channel. Kept required: the bot streams replies only.
        # Same source as appendStream's: one request may not carry both.
        "errors": ["cannot_provide_both_markdown_text_and_chunks"],
        # `blocks` chunks arrived with the 2026-04-16 changelog (slackapi/python-slack-sdk #1872); the argument
        # list is unchanged.
    },
    "chat.stopStream": {
        # The scrape lists neither; appendStream's page documents `stopped_by_user` ("no further appends are
        # accepted"), and the mode lock holds for the stop as for appends (hermes-agent #104173, vercel/chat #173).
        "errors": ["streaming_mode_mismatch", "cannot_provide_both_markdown_text_and_chunks", "stopped_by_user"],
    },
}


def read(source: Path, path: str) -> str:
    """A file of the checkout, or of HEAD when `source` is a bare git directory (what `fetch` brings)."""
    if (source / path).exists():
        return (source / path).read_text()
    return subprocess.run(
        ["git", "--git-dir", str(source), "show", f"HEAD:{path}"], check=True, capture_output=True, text=True
    ).stdout


def commit_of(source: Path) -> str:
    git_dir = source / ".git" if (source / ".git").exists() else source
    result = subprocess.run(["git", "--git-dir", str(git_dir), "rev-parse", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def derive(source: Path) -> dict[str, Any]:
    methods: dict[str, Any] = {}
    for name in METHODS:
        page = json.loads(read(source, f"priv/docs/methods/{name}.json"))
        entry: dict[str, Any] = {
            "args": {arg: bool(spec.get("required")) for arg, spec in sorted((page.get("args") or {}).items())},
            "errors": sorted(page.get("errors") or {}),
            "rate_limit": (page.get("rate_limit") or {}).get("label", ""),
            "bot_scopes": sorted(s["name"] for s in (page.get("scopes") or {}).get("bot") or []),
        }
        fix = CORRECTIONS.get(name, {})
        entry["args"].update(fix.get("args", {}))
        entry["errors"] = sorted({*entry["errors"], *fix.get("errors", [])})
        if fix.get("one_of"):
            entry["one_of"] = fix["one_of"]
        if fix:
            entry["corrected"] = True  # see CORRECTIONS in derive_slack.py for what and why
        methods[name] = entry
    return {
        "derived_from": {
            "repository": "https://github.com/smstoslack/slack_kit",
            "commit": commit_of(source),
            "paths": ["priv/docs/methods/*.json", "priv/docs/common_errors.json"],
            "script": "tests/contract/derive_slack.py",
        },
        # Errors any method may answer (Slack's pages list them under every method; the scrape keeps them apart).
        "common_errors": sorted(json.loads(read(source, "priv/docs/common_errors.json"))),
        "methods": methods,
    }


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    OUT.write_text(json.dumps(derive(Path(sys.argv[1])), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
