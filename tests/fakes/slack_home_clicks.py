"""A person clicks a button of the Home view the bot published: Slack sends the app a signed `block_actions`.

Shapes and rules, from Slack's reference:
- the payload: docs.slack.dev/reference/interaction-payloads/block_actions-payload (`type: block_actions`, `user`,
  `team`, `api_app_id`, `container` of `type: view` for a Home tab, `view`, `trigger_id`, `actions` with the
  element's `action_id`, `block_id`, `value`, `type`, `action_ts`), sent as the form field `payload`
  (docs.slack.dev/interactivity/handling-user-interaction), signed like every request to the app;
- a button with a `confirm` object sends nothing until the person confirms in the dialog
  (docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object: title plain_text at most
  100 characters, text at most 300, confirm and deny plain_text at most 30 each, style `primary` or `danger`).
Only a button the view shows can be clicked; clicking the wrong one is the test's mistake, said as such.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from .slack_interactivity import sent_by

CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}


class NotOnScreen(AssertionError):
    """The view has no such button."""


def buttons(view: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every button of a view, with its block's id: section accessories and actions blocks' elements."""
    found = []
    for n, block in enumerate(view.get("blocks") or []):
        block_id = block.get("block_id") or f"b{n}"
        elements = [block.get("accessory")] if block.get("accessory") else block.get("elements") or []
        found += [(block_id, e) for e in elements if isinstance(e, dict) and e.get("type") == "button"]
    return found


def check_confirm(confirm: dict[str, Any]) -> None:
    for name, limit in CONFIRM_LIMITS.items():
        text = confirm.get(name) or {}
        if not text.get("text") or len(text["text"]) > limit:
            raise AssertionError(f"invalid confirm object: {name} missing or over {limit} characters")
        if name != "text" and text.get("type") != "plain_text":
            raise AssertionError(f"invalid confirm object: {name} must be plain_text")
    if confirm.get("style", "primary") not in ("primary", "danger"):
        raise AssertionError("invalid confirm object: style")


def block_actions(
    view: dict[str, Any], *, user_id: str, team_id: str, action_id: str, value: str | None = None, confirmed: bool
) -> str | None:
    """The form body Slack posts for a click on the button `action_id` (with `value`, when several share the
    action id); None when it asks for confirmation and the person does not confirm (nothing is sent)."""
    matches = [
        (block_id, b)
        for block_id, b in buttons(view)
        if b.get("action_id") == action_id and (value is None or b.get("value") == value)
    ]
    if len(matches) != 1:
        raise NotOnScreen(f"{len(matches)} button(s) {action_id!r} (value {value!r}) in the view")
    block_id, button = matches[0]
    if "confirm" in button:
        check_confirm(button["confirm"])
        if not confirmed:
            return None
    payload = {
        "type": "block_actions",
        **sent_by(team_id, user_id),
        "container": {"type": "view", "view_id": view.get("id", "V0001")},
        "view": {**view, "id": view.get("id", "V0001"), "team_id": team_id, "app_id": "A0001"},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": button.get("text"),
                "value": button.get("value"),
                "action_ts": f"{time.time():.6f}",
                **({"style": button["style"]} if "style" in button else {}),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


async def click(
    bot: Any,
    slack: Any,
    user_id: str,
    action_id: str,
    *,
    value: str | None = None,
    confirmed: bool = False,
) -> int | None:
    """`user_id` clicks a button of the Home view last published to them; the HTTP status of the delivery
    (None when a confirmation was declined and nothing was sent)."""
    body = block_actions(
        slack.home_views[user_id],
        user_id=user_id,
        team_id=bot.team_id,
        action_id=action_id,
        value=value,
        confirmed=confirmed,
    )
    if body is None:
        return None
    answer = await bot.post(body, content_type="application/x-www-form-urlencoded")
    return int(answer.status)
