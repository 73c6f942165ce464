"""The fake Slack's interactivity: building the `block_actions` and `view_submission` payloads Slack sends when a
person clicks a button or submits a form, `views.open`, and the shapes of the
interactive blocks the bot sends (context_actions with feedback_buttons, actions with buttons).

Sources: docs.slack.dev/reference/interaction-payloads/block_actions-payload,
docs.slack.dev/reference/interaction-payloads/view-interactions-payload, docs.slack.dev/reference/methods/views.open,
docs.slack.dev/reference/block-kit/blocks/context-actions-block,
docs.slack.dev/reference/block-kit/block-elements/feedback-buttons-element,
docs.slack.dev/reference/block-kit/block-elements/button-element.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]


class InteractivityError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def check_interactive_block(block: dict[str, Any]) -> None:
    """Raise for an interactive block Block Kit's reference does not allow (Slack answers `invalid_blocks`)."""
    kind = block.get("type")
    if kind == "context_actions":
        # "elements: An array of feedback buttons elements and icon button elements. Maximum number of items is 5."
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 5:
            raise InteractivityError("invalid_blocks")
        for element in elements:
            if element.get("type") == "feedback_buttons":
                _check_feedback_buttons(element)
            elif element.get("type") != "icon_button":
                raise InteractivityError("invalid_blocks")
    elif kind == "actions":
        # The actions block holds at most 25 elements (docs.slack.dev/reference/block-kit/blocks/actions-block).
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            raise InteractivityError("invalid_blocks")
        for element in elements:
            if element.get("type") == "button":
                _check_button(element)
    _check_block_id(block)


def _check_feedback_buttons(element: dict[str, Any]) -> None:
    # positive_button and negative_button are required; each has `text` (plain_text, at most 75 characters) and
    # `value` (at most 2,000 characters); accessibility_label at most 75; action_id at most 255.
    if len(element.get("action_id") or "") > 255:
        raise InteractivityError("invalid_blocks")
    for side in ("positive_button", "negative_button"):
        button = element.get(side)
        if not isinstance(button, dict):
            raise InteractivityError("invalid_blocks")
        text = button.get("text") or {}
        value = button.get("value")
        if text.get("type") != "plain_text" or not text.get("text") or len(text["text"]) > 75:
            raise InteractivityError("invalid_blocks")
        if not isinstance(value, str) or not value or len(value) > 2000:
            raise InteractivityError("invalid_blocks")
        if len(button.get("accessibility_label") or "") > 75:
            raise InteractivityError("invalid_blocks")


def _check_button(element: dict[str, Any]) -> None:
    # text: plain_text, at most 75 characters; value at most 2,000; style "primary" or "danger"; action_id ≤ 255.
    text = element.get("text") or {}
    if text.get("type") != "plain_text" or not text.get("text") or len(text["text"]) > 75:
        raise InteractivityError("invalid_blocks")
    if len(element.get("value") or "") > 2000 or len(element.get("action_id") or "") > 255:
        raise InteractivityError("invalid_blocks")
    if element.get("style") not in (None, "primary", "danger"):
        raise InteractivityError("invalid_blocks")


def _check_block_id(block: dict[str, Any]) -> None:
    if len(block.get("block_id") or "") > 255:  # "Maximum length for this field is 255 characters."
        raise InteractivityError("invalid_blocks")


def _find_action(message: Message, action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The block and element with `action_id`: a person can only click what the message shows."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block, element
    raise AssertionError(f"the message shows no element with action_id {action_id!r}")


def sent_by(team_id: str, user_id: str) -> dict[str, Any]:
    """What every interaction payload says of who sent it and from where, with a fresh `trigger_id` (it lasts 3 s)."""
    return {
        "team": {"id": team_id, "domain": "fake"},
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0001",
        "token": "legacy",
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}",
        "is_enterprise_install": False,
        "enterprise": None,
    }


def block_actions_payload(
    *,
    team_id: str,
    channel: str,
    message: Message,
    user_id: str,
    action_id: str,
    response_url: str,
    feedback: str = "positive",
) -> dict[str, Any]:
    """What Slack sends when `user_id` clicks the element `action_id` in `message` (a button, or one side of
    the feedback buttons: `feedback` is "positive" or "negative")."""
    block, element = _find_action(message, action_id)
    if element["type"] == "feedback_buttons":
        button = element[f"{feedback}_button"]
        action = {"type": "feedback_buttons", "text": button["text"], "value": button["value"]}
    elif element["type"] == "button":
        action = {"type": "button", "text": element["text"], "value": element.get("value", "")}
        if element.get("style"):
            action["style"] = element["style"]
    else:
        raise AssertionError(f"clicking a {element['type']} is not supported by the fake")
    container = {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False}
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    return {
        "type": "block_actions",
        **sent_by(team_id, user_id),
        "container": container,
        "channel": {"id": channel, "name": "general"},
        "message": {k: v for k, v in message.items() if k not in ("streaming", "chunks", "edits", "tasks")},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                **action,
                "action_id": action_id,
                "block_id": block.get("block_id") or "b",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def view_submission_payload(
    *, team_id: str, user_id: str, view: dict[str, Any], values: dict[str, str]
) -> dict[str, Any]:
    """What Slack sends when `user_id` submits `view` (as views.open returned it), with `values` typed into its
    plain_text_input elements by block_id."""
    state: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element") or {}
        if block.get("type") == "input" and element.get("type") == "plain_text_input":
            typed = values.get(block["block_id"])
            state[block["block_id"]] = {element["action_id"]: {"type": "plain_text_input", "value": typed}}
    return {
        "type": "view_submission",
        **sent_by(team_id, user_id),
        "view": {**view, "state": {"values": state}},
        "response_urls": [],
    }


class SlackInteractivity:
    """`views.open`, registered in FakeSlack's handlers (user groups are the admin module's)."""

    def __init__(self, team_id: str, check_blocks: Callable[[Any], None]) -> None:
        self.team_id = team_id
        self.opened_views: list[dict[str, Any]] = []
        self._check_blocks = check_blocks

    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        # docs.slack.dev/reference/methods/views.open: `trigger_id` and `view` required; a trigger expires after
        # 3 seconds (`expired_trigger_id`); a modal has a `title` (plain_text, at most 24 characters), at most 100
        # blocks, and `submit` when it has input blocks (docs.slack.dev/reference/views/modal-views).
        trigger_id, view = args.get("trigger_id"), args.get("view")
        if not trigger_id or not view:
            raise InteractivityError("invalid_arguments")
        if int(str(trigger_id).split(".")[0]) < time.time() - 3:
            raise InteractivityError("expired_trigger_id")
        view = json.loads(view) if isinstance(view, str) else view
        title = (view.get("title") or {}).get("text") or ""
        blocks = view.get("blocks") or []
        if view.get("type") != "modal" or not title or len(title) > 24 or len(blocks) > 100:
            raise InteractivityError("invalid_arguments")
        if any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
            raise InteractivityError("invalid_arguments")
        if len(view.get("private_metadata") or "") > 3000:
            raise InteractivityError("invalid_arguments")
        self._check_blocks(blocks)
        opened = {"id": f"V{len(self.opened_views) + 1:08d}", "team_id": self.team_id, **view}
        self.opened_views.append(opened)
        return {"view": opened}
