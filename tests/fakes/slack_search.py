"""The workspace in the fake Slack: channels and who may see them, Real-time Search, `conversations.info`.

What it encodes, from Slack's docs:
- `assistant.search.context` (https://docs.slack.dev/reference/methods/assistant.search.context): `query` required
  (`missing_query`); `action_token` "as received in a message event"; with a bot token Slack needs it to search as
  the person who asked (https://docs.slack.dev/apis/web-api/real-time-search-api, "API overview"); a token it did
  not issue is `invalid_action_token`. `channel_types` is a comma-separated list of `public_channel`,
  `private_channel`, `mpim`, `im` (default `public_channel`); `limit` "up to a max of 20. Defaults to 20";
  `cursor` from `response_metadata.next_cursor` (`invalid_cursor`). Results: `results.messages[]` with
  `author_user_id`, `team_id`, `channel_id`, `message_ts`, `content`, `is_author_bot`, `permalink` (the page's
  example); `author_name` and `channel_name` as reported by people using it (public notes in the code corpus).
  Only what the asker may see is returned (the usage guide: "only content the user has access to").
- Scopes (the method page's "bot" scopes, mirrored in smstoslack/slack_kit priv/docs/methods): a bot token may hold
  `search:read.public`, `.files`, `.users`; `.private`, `.im`, `.mpim` are user-token scopes. Without the scope the
  answer is Slack's common `missing_scope`. The page does not say what a bot token asking for `private_channel`,
  `mpim` or `im` gets: the fake answers `missing_scope`, as for any scope the token cannot hold.
  The page names no error for `limit` over 20: the fake answers `invalid_arguments`.
- `assistant.search.info` (https://docs.slack.dev/reference/methods/assistant.search.info): no arguments, scope
  `search:read.public`; answers `is_ai_search_enabled` (semantic search on the workspace).
- `conversations.open` (https://docs.slack.dev/reference/methods/conversations.open): `users` (or `channel`)
  required, else `users_list_not_supplied`; a bot token needs `im:write` for a DM; answers `channel.id`; an unknown
  user is `user_not_found`. The fake names a person's DM with the bot `D` + their id without its first letter.
- `conversations.info` (https://docs.slack.dev/reference/methods/conversations.info): `channel` required; scopes
  `channels:read` (public), `groups:read` (private), `im:read`, `mpim:read`; a conversation the token cannot see
  is `channel_not_found`. The channel object (https://docs.slack.dev/reference/objects/conversation-object):
  `is_channel`, `is_group`, `is_im`, `is_mpim`, `is_private`, `is_member`, `name`.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .slack import FakeSlack

CHANNEL_TYPES = ("public_channel", "private_channel", "mpim", "im")
CONTENT_TYPES = ("messages", "files", "channels", "users")
BOT_SEARCH_SCOPES = {"public_channel": "search:read.public"}  # the only channel type a bot token may search
MAX_LIMIT = 20
WORD = re.compile(r"[a-z0-9]{4,}")


@dataclass
class FakeChannel:
    id: str
    name: str
    kind: str = "public_channel"  # one of CHANNEL_TYPES
    members: set[str] = field(default_factory=set)  # people; empty for a public channel means everyone
    bot_is_member: bool = True
    # A channel made private after the search index saw it as public (a test knob for a stale index; Slack does
    # not document how fast its index follows a conversion).
    indexed_as_public: bool = False

    @property
    def indexed_kind(self) -> str:
        return "public_channel" if self.indexed_as_public else self.kind

    def visible_to(self, user_id: str) -> bool:
        return self.indexed_kind == "public_channel" or user_id in self.members

    def to_api(self) -> dict[str, Any]:
        private = self.kind != "public_channel"
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": self.kind == "public_channel",
            "is_group": self.kind == "private_channel",
            "is_im": self.kind == "im",
            "is_mpim": self.kind == "mpim",
            "is_private": private,
            "is_member": self.bot_is_member,
            "is_archived": False,
        }


@dataclass
class SlackWorkspaceSearch:
    """Attached to a FakeSlack as `slack.search`."""

    slack: FakeSlack
    channels: dict[str, FakeChannel] = field(default_factory=dict)
    ai_search_enabled: bool = True
    _tokens: dict[str, str] = field(default_factory=dict)  # action token -> the person it was issued for
    searches: list[dict[str, Any]] = field(default_factory=list)  # every accepted search's arguments

    # ---- test-side helpers

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        kind: str = "public_channel",
        members: tuple[str, ...] = (),
        bot_is_member: bool = True,
        indexed_as_public: bool = False,
    ) -> None:
        self.channels[channel_id] = FakeChannel(channel_id, name, kind, set(members), bot_is_member, indexed_as_public)

    def action_token(self, user_id: str) -> str:
        """What Slack puts in the `action_token` of a message event sent by `user_id`."""
        token = f"{secrets.randbelow(99999)}.{secrets.randbelow(99999)}.{secrets.token_hex(6)}"
        self._tokens[token] = user_id
        return token

    def channel(self, channel_id: str) -> FakeChannel:
        """A channel the test did not describe: public if its id starts with C, private with G, a DM with D."""
        if channel_id not in self.channels:
            kind = {"C": "public_channel", "G": "private_channel", "D": "im"}.get(channel_id[:1], "mpim")
            self.channels[channel_id] = FakeChannel(channel_id, channel_id.lower(), kind)
        return self.channels[channel_id]

    def permalink(self, channel_id: str, ts: str, thread_ts: str | None = None) -> str:
        link = f"https://fake.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return link

    # ---- Web API methods

    def context(self, args: dict[str, Any]) -> dict[str, Any]:
        from .slack import SlackError

        self._require_scope("search:read.public")
        query = str(args.get("query") or "").strip()
        if not query:
            raise SlackError("missing_query")
        asker = self._tokens.get(str(args.get("action_token") or ""))
        if asker is None:
            raise SlackError("invalid_action_token")
        kinds = [k.strip() for k in str(args.get("channel_types") or "public_channel").split(",") if k.strip()]
        if any(kind not in CHANNEL_TYPES for kind in kinds):
            raise SlackError("invalid_arguments")
        for kind in kinds:
            if kind not in BOT_SEARCH_SCOPES:
                raise SlackError("missing_scope")
            self._require_scope(BOT_SEARCH_SCOPES[kind])
        contents = [c.strip() for c in str(args.get("content_types") or "messages").split(",") if c.strip()]
        if any(content not in CONTENT_TYPES for content in contents):
            raise SlackError("invalid_arguments")
        for content in contents:  # the method page's bot scopes: search:read.files, search:read.users
            if content in ("files", "users"):
                self._require_scope(f"search:read.{content}")
        limit = str(args.get("limit") or MAX_LIMIT)
        if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
            raise SlackError("invalid_arguments")
        offset = _decode_cursor(args.get("cursor"))
        found = self._matches(query, asker, set(kinds))
        page = found[offset : offset + int(limit)]
        more = offset + int(limit) < len(found)
        self.searches.append(args)
        return {
            "results": {"messages": page},
            "response_metadata": {"next_cursor": _encode_cursor(offset + int(limit)) if more else ""},
        }

    def info(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require_scope("search:read.public")
        return {"is_ai_search_enabled": self.ai_search_enabled}

    def conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        from .slack import SlackError

        users = [u for u in str(args.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        self._require_scope("im:write")
        if len(users) > 1:
            raise SlackError("missing_scope")  # a group DM needs mpim:write, which the manifest does not ask for
        if users[0] not in self.slack._users:
            raise SlackError("user_not_found")
        dm = "D" + users[0][1:]
        self.channel(dm)
        return {"channel": {"id": dm}}

    def conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        from .slack import SlackError

        channel_id = str(args.get("channel") or "")
        if not channel_id:
            raise SlackError("channel_not_found")
        channel = self.channel(channel_id)
        if channel.kind != "public_channel" and not channel.bot_is_member:
            raise SlackError("channel_not_found")
        scope = {"public_channel": "channels:read", "private_channel": "groups:read"}.get(channel.kind)
        if scope is not None:
            self._require_scope(scope)
        return {"channel": channel.to_api()}

    # ---- internals

    def _require_scope(self, scope: str) -> None:
        from .slack import SlackError

        if scope not in self.slack.granted_scopes:
            raise SlackError("missing_scope")

    def _matches(self, query: str, asker: str, kinds: set[str]) -> list[dict[str, Any]]:
        words = set(WORD.findall(query.lower()))
        found = []
        for channel_id, messages in self.slack._channels.items():
            channel = self.channel(channel_id)
            if channel.indexed_kind not in kinds or not channel.visible_to(asker):
                continue
            for message in messages:
                text = str(message.get("text") or "")
                if message.get("user") and words & set(WORD.findall(text.lower())):
                    found.append(self._result(channel, message))
        found.sort(key=lambda m: Decimal(m["message_ts"]), reverse=True)
        return found

    def _result(self, channel: FakeChannel, message: dict[str, Any]) -> dict[str, Any]:
        user = self.slack._users.get(message["user"])
        return {
            "author_user_id": message["user"],
            "author_name": user.real_name if user is not None else "",
            "team_id": self.slack.team_id,
            "channel_id": channel.id,
            "channel_name": channel.name,
            "message_ts": message["ts"],
            "content": message.get("text") or "",
            "is_author_bot": bool(message.get("bot_id")),
            "permalink": self.permalink(channel.id, message["ts"], message.get("thread_ts")),
        }


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"search:{offset}".encode()).decode()


def _decode_cursor(cursor: Any) -> int:
    from .slack import SlackError

    if not cursor:
        return 0
    try:
        return int(base64.b64decode(str(cursor)).decode().removeprefix("search:"))
    except ValueError as error:
        raise SlackError("invalid_cursor") from error
