"""Which Slack messages the bot answers, and which conversation each belongs to (pure decisions)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_bolt.context.async_context import AsyncBoltContext

from bot.shared.conversation_key import ConversationKey
from bot.slack.text import mentions_user, strip_user_mention
from bot.turn.catch_up import SummaryRequest

# Message subtypes that are still a person saying something new.
_HUMAN_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
RESET_WORDS = frozenset({"reset", "forget", "start over"})


@dataclass(frozen=True)
class IncomingMessage:
    key: ConversationKey
    ts: str
    user_id: str
    text: str  # as Slack sent it, markup included
    is_dm: bool
    mentioned: bool  # the bot was addressed by an @-mention
    in_thread: bool  # a reply inside an existing thread
    is_assistant_thread: bool = False
    files: tuple[Mapping[str, Any], ...] = ()  # Slack file objects shared with the message: a question too
    user_team_id: str = ""  # the author's own workspace (another one in a Slack Connect channel)
    # Slack's token for searching as the author (Real-time Search API); valid only for this event's turn.
    action_token: str = field(default="", repr=False)
    # Channels whose linked messages may be read here besides this one: a person brought them to a place only
    # they see (the "Summarize this thread" shortcut, answered in their DM).
    shared_channels: tuple[str, ...] = ()
    summarize: SummaryRequest | None = None  # a summary asked for without words (the shortcut)

    @property
    def reply_thread_ts(self) -> str | None:
        """Where the answer goes: the thread, or the DM's top level."""
        return self.key.thread_ts or None

    @property
    def needs_participation(self) -> bool:
        """Answered only if the bot is already part of the thread (a follow-up without a mention)."""
        return not self.is_dm and not self.mentioned


def workspace_of(context: AsyncBoltContext) -> str:
    """The one team id memory is keyed by, whatever the surface: the workspace the app is installed in.

    A payload's own team fields name the person's workspace in a Slack Connect channel (and differ between
    events, `/reset` and shortcuts), so a reset keyed by them would miss the memory the events use.
    """
    installed = context.authorize_result.team_id if context.authorize_result is not None else None
    return installed or context.team_id or ""


# How a listener turns an event (and Bolt's context) into the message to consider answering.
ToMessage = Callable[[dict[str, Any], "AsyncBoltContext"], "IncomingMessage | None"]


def message_from_event(
    event: Mapping[str, Any],
    *,
    team_id: str,
    bot_user_id: str,
    allowed_bot_ids: frozenset[str] = frozenset(),
) -> IncomingMessage | None:
    """The message to consider answering, or None for events that are not a person talking to the bot."""
    subtype = event.get("subtype")
    bot_id = event.get("bot_id")
    user_id = event.get("user") or ""
    channel = event.get("channel") or ""
    ts = event.get("ts") or ""
    if not channel or not ts or not user_id or user_id == bot_user_id or event.get("hidden"):
        return None
    if bot_id and bot_id not in allowed_bot_ids:
        return None
    if subtype and subtype not in _HUMAN_SUBTYPES and not (subtype == "bot_message" and bot_id):
        return None

    text = event.get("text") or ""
    is_dm = event.get("channel_type") == "im" or channel.startswith("D")
    thread_ts = event.get("thread_ts") or ""
    in_thread = bool(thread_ts) and thread_ts != ts
    mentioned = event.get("type") == "app_mention" or mentions_user(text, bot_user_id)
    if not is_dm and not mentioned and not in_thread:
        return None  # channel chatter outside the bot's threads

    if is_dm:
        key = ConversationKey(team_id, channel, thread_ts if in_thread else "")
    else:
        key = ConversationKey(team_id, channel, thread_ts or ts)
    return IncomingMessage(
        key=key,
        ts=ts,
        user_id=user_id,
        text=text,
        is_dm=is_dm,
        mentioned=mentioned,
        in_thread=in_thread,
        is_assistant_thread=bool(event.get("assistant_thread")),
        files=tuple(f for f in event.get("files") or () if isinstance(f, Mapping)),
        user_team_id=event.get("user_team") or event.get("team") or team_id,
        action_token=action_token_of(event),
    )


def action_token_of(event: Mapping[str, Any]) -> str:
    """Slack sends `action_token` at the top level of `message` and `app_mention` events (slack-go/slack#1577,
    #1580); older typed models read it from `assistant_thread`, so that place is read too."""
    token = event.get("action_token") or (event.get("assistant_thread") or {}).get("action_token") or ""
    return str(token) if isinstance(token, str) else ""


def is_reset_request(text: str, bot_user_id: str) -> bool:
    """`@bot reset` in a thread (or `reset` in a DM) asks the bot to forget that conversation."""
    words = strip_user_mention(text, bot_user_id).strip().strip(".!").lower()
    return words in RESET_WORDS


def is_empty_mention(text: str, bot_user_id: str) -> bool:
    return not strip_user_mention(text, bot_user_id).strip()
