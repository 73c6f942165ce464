"""What an approval request looks like in Slack: the calls, their arguments summarized, Approve and Reject;
and the line that replaces the buttons once it is decided or expired. Also the feedback buttons under answers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from typing import Any

from bot.shared import phrases

APPROVE_ACTION = "approval_approve"
REJECT_ACTION = "approval_reject"
FEEDBACK_ACTION = "answer_feedback"
FEEDBACK_FORM = "feedback_form"  # the thumbs-down form's callback_id
FEEDBACK_INPUT_BLOCK = "what_went_wrong"
FEEDBACK_INPUT_ACTION = "text"

MAX_ARGUMENTS = 8  # shown per call; the rest are counted
MAX_VALUE_CHARS = 120
# An argument whose name says it holds a secret is never shown.
_SECRET_NAME = re.compile(r"token|secret|password|passwd|api[_-]?key|authorization|credential|cookie", re.I)


def tools_phrase(calls: Sequence[dict[str, Any]]) -> str:
    names = [f"`{c['tool']}`" for c in calls]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def summarize_arguments(arguments: str) -> list[str]:
    """Readable lines, one per argument (`name`: value), long values cut, secrets hidden, never raw JSON walls."""
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return [f"_(arguments not readable: {len(arguments)} characters)_"] if arguments else []
    lines = []
    for name, value in list(parsed.items())[:MAX_ARGUMENTS]:
        if _SECRET_NAME.search(str(name)):
            shown = "•••"
        else:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            text = " ".join(text.split())
            shown = text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
            shown = shown.replace("`", "'")
        lines.append(f"• *{_plain(str(name))}*: `{shown}`")
    if len(parsed) > MAX_ARGUMENTS:
        lines.append(f"• _…and {len(parsed) - MAX_ARGUMENTS} more_")
    return lines


def request_blocks(
    *, approval_id: str, asker: str, calls: Sequence[dict[str, Any]], who: str, expires_at: float
) -> list[dict[str, Any]]:
    lines = [phrases.APPROVAL_REQUEST.format(asker=asker, tools=tools_phrase(calls))]
    for call in calls:
        where = f" on _{_plain(call['server'])}_" if call.get("server") else ""
        lines.append(f"\n*`{call['tool']}`*{where}")
        lines.extend(summarize_arguments(call.get("arguments") or ""))
    # Slack shows the time in each reader's own time zone; the fallback is UTC (docs.slack.dev, "Formatting dates").
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at))
    when = f"<!date^{int(expires_at)}^{{date_short_pretty}} at {{time}}|{fallback}>"
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": phrases.APPROVAL_WHO.format(who=who, when=when)}]},
        {
            "type": "actions",
            "block_id": f"approval:{approval_id}",
            "elements": [
                _button(phrases.APPROVAL_APPROVE, APPROVE_ACTION, approval_id, "primary"),
                _button(phrases.APPROVAL_REJECT, REJECT_ACTION, approval_id, "danger"),
            ],
        },
    ]


def decided_blocks(request: list[dict[str, Any]], outcome: str) -> list[dict[str, Any]]:
    """The request as it was, its buttons replaced by what became of it."""
    kept = [b for b in request if b.get("type") == "section"]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome}]}]


def who_decides(asker: str, approvers: Sequence[str]) -> str:
    if not approvers:
        return f"<@{asker}>"
    names = [f"<!subteam^{a}>" if a.startswith("S") else f"<@{a}>" for a in approvers]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def feedback_blocks(*, model: str, response_id: str) -> list[dict[str, Any]]:
    """Slack's feedback buttons (a context_actions block, docs.slack.dev/reference/block-kit/blocks/
    context-actions-block); each value carries the model and the response id the vote is about."""

    def value(vote: str) -> str:
        return json.dumps({"vote": vote, "model": model, "response": response_id}, separators=(",", ":"))[:2000]

    return [
        {
            "type": "context_actions",
            "elements": [
                {
                    "type": "feedback_buttons",
                    "action_id": FEEDBACK_ACTION,
                    "positive_button": {
                        "text": {"type": "plain_text", "text": "👍"},
                        "accessibility_label": phrases.FEEDBACK_GOOD,
                        "value": value("good"),
                    },
                    "negative_button": {
                        "text": {"type": "plain_text", "text": "👎"},
                        "accessibility_label": phrases.FEEDBACK_BAD,
                        "value": value("bad"),
                    },
                }
            ],
        }
    ]


def feedback_form(*, private_metadata: str) -> dict[str, Any]:
    """The optional "what went wrong?" modal opened on a thumbs-down."""
    return {
        "type": "modal",
        "callback_id": FEEDBACK_FORM,
        "private_metadata": private_metadata[:3000],
        "title": {"type": "plain_text", "text": phrases.FEEDBACK_FORM_TITLE},
        "submit": {"type": "plain_text", "text": phrases.FEEDBACK_FORM_SUBMIT},
        "blocks": [
            {
                "type": "input",
                "block_id": FEEDBACK_INPUT_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": phrases.FEEDBACK_FORM_LABEL},
                "element": {
                    "type": "plain_text_input",
                    "action_id": FEEDBACK_INPUT_ACTION,
                    "multiline": True,
                    "max_length": 2000,
                },
            }
        ],
    }


def _button(text: str, action_id: str, value: str, style: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
        "style": style,
    }


def _plain(text: str) -> str:
    return text.replace("*", "").replace("_", " ").replace("`", "'")[:80]
