"""Rebuilding a conversation from Slack history: paging through Slack, then a pure mapping to model input."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.input_items import InputItem, Part, alternate_roles, fit_budget, with_files
from bot.slack.files import not_readable_note
from bot.slack.posting import NOTICE_EVENT
from bot.slack.text import mentioned_user_ids, mentions_user, people_in, strip_leading_mention, to_readable
from bot.state.thread_state import ts_value
from bot.turn.routing import is_reset_request

logger = logging.getLogger(__name__)

PAGE_LIMIT = 200
# Metadata event types on the bot's own messages: notices are not part of the conversation,
# a reset note marks where memory starts again.
RESET_EVENT = "bot_memory_reset"


class HistoryUnavailable(Exception):
    """Slack would not give a conversation's history, even after slack_sdk's retries."""

    def __init__(self, method: str, code: str) -> None:
        super().__init__(f"{method}: {code}")
        self.code = f"{method}: {code}"  # shown in logs like an API error's code


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    bot_id: str
    workspace_url: str = ""  # e.g. https://acme.slack.com/ (auth.test's url), for permalinks


async def read_thread(client: AsyncWebClient, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """Every message of a thread, root first, through every page (Slack may serve 15 a page)."""
    messages: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        try:
            response = await client.conversations_replies(
                channel=channel, ts=thread_ts, cursor=cursor, limit=PAGE_LIMIT, include_all_metadata=True
            )
        except SlackApiError as error:
            raise HistoryUnavailable("conversations.replies", str(error.response.get("error"))) from error
        pages += 1
        messages.extend(response.get("messages") or [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    if pages > 1:
        logger.info("Read %d messages of thread %s/%s in %d pages", len(messages), channel, thread_ts, pages)
    return messages


async def read_dm(client: AsyncWebClient, channel: str, *, oldest: str, budget_chars: int) -> list[dict[str, Any]]:
    """A DM's top-level messages after `oldest`, oldest first, reading back only as far as the budget."""
    newest_first: list[dict[str, Any]] = []
    cursor: str | None = None
    chars = 0
    while chars < budget_chars:
        try:
            response = await client.conversations_history(
                channel=channel, cursor=cursor, limit=PAGE_LIMIT, oldest=oldest or None, include_all_metadata=True
            )
        except SlackApiError as error:
            raise HistoryUnavailable("conversations.history", str(error.response.get("error"))) from error
        page = response.get("messages") or []
        newest_first.extend(page)
        chars += sum(len(m.get("text") or "") for m in page)
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    return list(reversed(newest_first))


def user_ids_in(messages: Sequence[Mapping[str, Any]]) -> list[str]:
    """Authors and mentioned people whose names the model should see."""
    authors = [m["user"] for m in messages if m.get("user") and not m.get("bot_id")]
    return list(dict.fromkeys([*authors, *people_in(m.get("text") or "" for m in messages)]))


def speaker_label(name: str | None, user_id: str) -> str:
    return f"{name} (<@{user_id}>)" if name else f"<@{user_id}>"


def user_turn(text: str, *, user_id: str, names: Mapping[str, str], bot_user_id: str) -> InputItem:
    """A person's message as the model sees it: who said it, then what they said, readable."""
    said = to_readable(strip_leading_mention(text, bot_user_id), names)
    # The ids of the people mentioned, so the model can mention them back: here, not in the instructions,
    # which stay the same every turn for the prompt cache.
    others = [u for u in mentioned_user_ids(text) if u not in (user_id, bot_user_id)]
    ids = "; ".join(f"{names.get(u) or u} is <@{u}>" for u in others)
    return {
        "role": "user",
        "content": f"{speaker_label(names.get(user_id), user_id)}: {said}" + (f" ({ids})" if ids else ""),
    }


def message_text(message: Mapping[str, Any]) -> str:
    """What a message says; for the bot's answers, the Markdown it wrote (kept in `markdown` blocks)."""
    markdown = [b.get("text", "") for b in message.get("blocks") or [] if b.get("type") == "markdown"]
    return "\n\n".join(markdown) if markdown else message.get("text") or ""


def _event_type(message: Mapping[str, Any]) -> str:
    return (message.get("metadata") or {}).get("event_type") or ""


def is_bot_notice(message: Mapping[str, Any]) -> bool:
    return _event_type(message) == NOTICE_EVENT


def _is_reset_point(message: Mapping[str, Any], bot: BotIdentity, *, is_dm: bool) -> bool:
    if _event_type(message) == RESET_EVENT:
        return True
    text = message.get("text") or ""
    addressed = is_dm or mentions_user(text, bot.user_id)
    return addressed and not message.get("bot_id") and is_reset_request(text, bot.user_id)


def conversation_input(
    messages: Sequence[Mapping[str, Any]],
    *,
    bot: BotIdentity,
    current_ts: str,
    forget_before: str,
    names: Mapping[str, str],
    budget_chars: int,
    is_dm: bool,
    file_parts: Mapping[str, Sequence[Part]] | None = None,
) -> list[InputItem]:
    """Slack messages before the current one as model input: the bot's answers as assistant turns,
    everyone else's as user turns naming the author (with their files, as `file_parts` has them by id),
    nothing from before the last reset, trimmed to the budget by keeping the first message and the newest
    ones. The current message is not included."""
    kept = messages_since_reset(messages, bot=bot, current_ts=current_ts, forget_before=forget_before, is_dm=is_dm)
    file_parts = file_parts or {}
    items: list[InputItem] = []
    for message in kept:
        is_ours = message.get("user") == bot.user_id or (bot.bot_id and message.get("bot_id") == bot.bot_id)
        if is_ours:
            if is_bot_notice(message):
                continue
            text = message_text(message)
            if text:  # an answer split over several messages becomes one turn in alternate_roles
                items.append({"role": "assistant", "content": text})
        elif message.get("user"):
            if message.get("subtype") not in (None, "file_share", "thread_broadcast", "bot_message"):
                continue
            text = message.get("text") or ""
            turn = user_turn(text, user_id=message["user"], names=names, bot_user_id=bot.user_id)
            files = message.get("files") or []
            parts = [p for f in files for p in file_parts.get(f.get("id"), [not_readable_note(f, _NOT_REREAD)])]
            items.append(with_files(turn, parts))
        elif message.get("bot_id"):
            author = message.get("username") or (message.get("bot_profile") or {}).get("name") or "a bot"
            items.append({"role": "user", "content": f"{author} (bot): {to_readable(message_text(message), names)}"})
    return alternate_roles(fit_budget(items, budget_chars))


_NOT_REREAD = "not read again for this rebuilt conversation"


def messages_since_reset(
    messages: Sequence[Mapping[str, Any]], *, bot: BotIdentity, current_ts: str, forget_before: str, is_dm: bool
) -> list[Mapping[str, Any]]:
    """The messages before the current one and after the last reset: what a rebuild may send."""
    cut = ts_value(forget_before)
    current = ts_value(current_ts)
    kept: list[Mapping[str, Any]] = []
    for message in messages:
        ts = ts_value(message.get("ts") or "")
        if ts <= cut or ts >= current:
            continue
        if _is_reset_point(message, bot, is_dm=is_dm):
            kept.clear()
            continue
        kept.append(message)
    return kept
