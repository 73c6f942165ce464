"""What the bot does about each documented error of each Slack call on the answer path.

One function, `reaction(method, error)`, read by the tests that inject every error (tests/test_slack_errors.py)
and by `python tests/contract/slack_reactions.py`, which prints the tables of tests/contract/README.md. It reads
the bot's own sets of errors, so the tables follow the code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from bot.slack.answer_writing import WORKSPACE_REFUSALS
from bot.slack.posting import CONTENT_REFUSALS, PASSING_REFUSALS
from bot.slack.reply import STREAM_ENDED

CATALOGUE = json.loads(Path(__file__).with_name("slack_methods.json").read_text())
RATE_LIMITED = "ratelimited"  # HTTP 429 with Retry-After: Slack's answer to a call over its tier

# The calls on the answer path, and where the bot makes them.
ANSWER_PATH: dict[str, str] = {
    "chat.postMessage": "an answer complete before it streams, the rest of one, a note (bot/slack/posting.py)",
    "chat.startStream": "opening a streamed answer, or tool progress (bot/slack/reply.py)",
    "chat.appendStream": "the next piece of a streamed answer, a tool's progress (bot/slack/reply.py)",
    "chat.stopStream": "the last piece of a streamed answer (bot/slack/reply.py)",
    "chat.update": "the next piece of an answer where Slack does not stream (bot/slack/reply.py)",
    "assistant.threads.setStatus": "'is thinking…' in a thread (bot/slack/status.py)",
    "reactions.add": ":eyes: on a question at a DM's top level (bot/slack/status.py)",
    "reactions.remove": "taking :eyes: away once answered (bot/slack/status.py)",
    "conversations.replies": "a thread's history: to rebuild, or to see if the bot takes part (bot/turn/history.py)",
    "conversations.history": "a DM's history, to rebuild its memory (bot/turn/history.py)",
    "files.info": "a Slack Connect file stub, live or in history (bot/slack/files.py)",
    "users.info": "people's names (bot/slack/people.py)",
}

REACTIONS: dict[str, str] = {
    "waits": "waits the `Retry-After` and calls again (writes that can come later: this answer's next write waits)",
    "plain_text": "posts the message once more as plain text, without blocks or metadata",
    "once_more": "posts the message once more after a second (Slack did nothing this time)",
    "lost": "gives up on this message, logged; the memory does not advance, so the next message chains from the "
    "last answer Slack showed",
    "edited_instead": "writes this answer as one message posted and edited (for an hour in the workspace when the "
    "error is about the workspace: WORKSPACE_REFUSALS)",
    "stopped": "the person pressed Stop: writes nothing more; the answer keeps what it shows; the memory advances",
    "new_message": "Slack ended the stream: the rest of the answer goes on in a new message",
    "rest_posted": "the message keeps what it shows; the rest is posted after it",
    "eyes_instead": "puts :eyes: on the question instead",
    "ignored": "logged; the answer is not affected",
    "history_note": "tells the person it could not read the conversation's history; the memory stays as it was "
    "(a follow-up without a mention, in a thread Redis no longer knows, is left unanswered: better silent than "
    "intrusive)",
    "file_note": "tells the model the file could not be read, and why; the answer goes on",
    "id_for_name": "the model sees the person's id instead of a name",
}


def documented(method: str) -> list[str]:
    return sorted({*CATALOGUE["methods"][method]["errors"], *CATALOGUE["common_errors"]})


def reaction(method: str, error: str) -> str:
    if method == "chat.postMessage":
        if error == RATE_LIMITED:
            return "waits"
        if error in PASSING_REFUSALS:
            return "once_more"
        return "plain_text" if error in CONTENT_REFUSALS else "lost"
    if method == "chat.startStream":
        return "edited_instead"
    if method in ("chat.appendStream", "chat.stopStream"):
        if error == RATE_LIMITED:
            return "waits"
        if error == "stopped_by_user":
            return "stopped"
        return "new_message" if error in STREAM_ENDED else "rest_posted"
    if method == "chat.update":
        return "waits" if error == RATE_LIMITED else "rest_posted"
    if method == "assistant.threads.setStatus":
        return "waits" if error == RATE_LIMITED else "eyes_instead"
    if method in ("reactions.add", "reactions.remove"):
        return "waits" if error == RATE_LIMITED else "ignored"
    if method in ("conversations.replies", "conversations.history"):
        return "waits" if error == RATE_LIMITED else "history_note"
    if method == "files.info":
        return "waits" if error == RATE_LIMITED else "file_note"
    if method == "users.info":
        return "waits" if error == RATE_LIMITED else "id_for_name"
    raise KeyError(method)


def tables() -> str:
    """Markdown: per method, the errors grouped by what the bot does."""
    lines: list[str] = []
    for method, where in ANSWER_PATH.items():
        spec = CATALOGUE["methods"][method]
        lines += [f"### `{method}`", "", f"{where}. Rate limit: {spec['rate_limit']}.", ""]
        lines += ["| what the bot does | errors |", "| --- | --- |"]
        groups: dict[str, list[str]] = {}
        for error in documented(method):
            groups.setdefault(reaction(method, error), []).append(error)
        for group, errors in groups.items():
            note = " (workspace-wide: " + ", ".join(sorted(WORKSPACE_REFUSALS & set(errors))) + ")"
            extra = note if group == "edited_instead" else ""
            lines.append(f"| {REACTIONS[group]}{extra} | {', '.join(f'`{e}`' for e in errors)} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(tables())
