"""An admin pastes manifest.yml into Slack: the app it creates must have what the bot uses, and no more."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.listeners.shortcuts import CALLBACK_ID, SUMMARIZE_CALLBACK_ID

ROOT = Path(__file__).parents[1]

# The bot token scope(s) each Web API method needs (from Slack's method reference pages); one of each tuple.
SCOPES_OF_METHOD: dict[str, tuple[str, ...]] = {
    # chat:write since 2026-03; assistant:write is accepted "for the time being" (the method's page).
    "assistant_threads_setStatus": ("chat:write", "assistant:write"),
    "assistant_threads_setSuggestedPrompts": ("assistant:write",),
    "assistant_threads_setTitle": ("assistant:write",),
    "assistant_search_context": ("search:read.public",),
    "assistant_search_info": ("search:read.public",),
    "chat_postMessage": ("chat:write",),
    "chat_postEphemeral": ("chat:write",),
    "chat_update": ("chat:write",),
    "chat_startStream": ("chat:write",),
    "chat_appendStream": ("chat:write",),
    "chat_stopStream": ("chat:write",),
    "conversations_replies": ("channels:history",),
    "conversations_history": ("im:history",),
    "conversations_open": ("im:write", "mpim:write", "channels:manage", "groups:write"),
    "conversations_info": ("channels:read", "groups:read", "im:read", "mpim:read"),
    "files_info": ("files:read",),
    "reactions_add": ("reactions:write",),
    "reactions_remove": ("reactions:write",),
    "users_info": ("users:read",),
    "usergroups_users_list": ("usergroups:read",),
}
# History in every kind of conversation the bot answers in; app_mention events; /reset.
SCOPES_OF_FEATURES = {
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "app_mentions:read",
    "commands",
}


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def methods_the_bot_calls() -> set[str]:
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    return set(
        re.findall(r"client\.((?:chat|conversations|users|usergroups|reactions|assistant|files|pins)_\w+)\(", source)
    )


def test_every_web_api_method_the_bot_calls_has_its_scope_and_no_scope_is_spare():
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    called = methods_the_bot_calls()
    assert called, "the bot calls Slack somewhere"
    unknown = called - SCOPES_OF_METHOD.keys()
    assert not unknown, f"add the scopes of {unknown} to SCOPES_OF_METHOD (and the manifest)"
    for method in called:
        assert scopes & set(SCOPES_OF_METHOD[method]), f"{method} needs one of {SCOPES_OF_METHOD[method]}"
    needed = SCOPES_OF_FEATURES | {SCOPES_OF_METHOD[m][0] for m in called}
    assert scopes == needed, f"spare: {scopes - needed}, missing: {needed - scopes}"


def test_the_app_is_subscribed_to_every_event_the_bot_answers():
    app = manifest()
    events = set(app["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.channels", "message.groups", "message.im", "message.mpim"} <= events
    assert {"app_home_opened", "app_context_changed"} <= events  # the agent messaging experience
    assert app["settings"]["socket_mode_enabled"] is True  # the quick start; the comment says how to switch
    assert app["settings"]["interactivity"]["is_enabled"] is True  # the message shortcut
    assert app["features"]["app_home"]["messages_tab_enabled"] is True  # people can DM the bot


def test_reset_is_there_as_a_command_and_as_a_message_shortcut():
    features = manifest()["features"]
    assert [c["command"] for c in features["slash_commands"]] == ["/reset"]
    reset, summarize = features["shortcuts"]
    assert (reset["type"], reset["callback_id"], reset["name"]) == ("message", CALLBACK_ID, "Reset this thread")
    assert (summarize["type"], summarize["callback_id"], summarize["name"]) == (
        "message",
        SUMMARIZE_CALLBACK_ID,
        "Summarize this thread",
    )
