"""The fake Slack's Web API methods other than streaming and history: posting, editing, people, reactions,
the assistant thread's status, prompts and title, and the calls made at start-up."""

from __future__ import annotations

from typing import Any

from .checks import TEXT_LIMIT, UPDATE_TEXT_LIMIT, check_blocks, check_markdown_text
from .errors import SlackError
from .store import Message, User, public, truthy


class Methods:
    """Mixed into FakeSlack, which holds the messages, people and what tests look at."""

    team_id: str
    bot_user_id: str
    bot_id: str
    bot_name: str
    ephemerals: list[dict[str, Any]]
    reactions: dict[tuple[str, str], set[str]]
    statuses: list[tuple[str, str, str]]
    suggested_prompts: list[dict[str, Any]]
    titles: list[dict[str, Any]]
    home_views: dict[str, dict[str, Any]]
    _channels: dict[str, list[Message]]
    _users: dict[str, User]
    _port: int

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args["channel"]
        check_markdown_text(args, alone=True)
        text = args.get("text") or args.get("markdown_text")
        blocks = args.get("blocks")
        if not text and not blocks and not args.get("attachments"):
            raise SlackError("no_text")
        if blocks is not None:
            check_blocks(blocks)
        message = self._new_bot_message((text or "")[:TEXT_LIMIT], args.get("thread_ts"))  # type: ignore[attr-defined]
        for key in ("blocks", "metadata", "attachments"):
            if args.get(key) is not None:
                message[key] = args[key]
        if message.get("thread_ts") and truthy(args.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
        self._store(channel, message)  # type: ignore[attr-defined]
        return {"channel": channel, "ts": message["ts"], "message": public(message)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        # docs.slack.dev/reference/methods/chat.update: `msg_too_long` "The `text` field cannot exceed 4,000
        # characters"; `streaming_state_conflict` "The message is currently streaming text and cannot be edited".
        message = self._require_bot_message(args, "cant_update_message")  # type: ignore[attr-defined]
        check_markdown_text(args, alone=True)
        if len(args.get("text") or "") > UPDATE_TEXT_LIMIT:
            raise SlackError("msg_too_long")
        if message.get("streaming"):
            raise SlackError("streaming_state_conflict")
        if args.get("blocks") is not None:
            check_blocks(args["blocks"])
            message["blocks"] = args["blocks"]
        text = args.get("text", args.get("markdown_text"))
        if text is not None:
            message["text"] = text[:TEXT_LIMIT]
        message["edits"] = message.get("edits", 0) + 1
        return {"channel": args["channel"], "ts": message["ts"], "text": message["text"], "message": public(message)}

    def _chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._require_bot_message(args, "cant_delete_message")  # type: ignore[attr-defined]
        self._channels[args["channel"]].remove(message)
        self.reactions.pop((args["channel"], message["ts"]), None)
        return {"channel": args["channel"], "ts": message["ts"]}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ephemerals.append(args)
        return {"message_ts": self._ts.next()}  # type: ignore[attr-defined]

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(args["user"])
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user.to_api()}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        key, name = self._reaction_target(args)
        names = self.reactions.setdefault(key, set())
        if name in names:
            raise SlackError("already_reacted")
        names.add(name)
        return {}

    def _reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        key, name = self._reaction_target(args)
        names = self.reactions.get(key, set())
        if name not in names:
            raise SlackError("no_reaction")
        names.discard(name)
        if not names:
            del self.reactions[key]
        return {}

    def _reaction_target(self, args: dict[str, Any]) -> tuple[tuple[str, str], str]:
        # reactions.remove documents `channel` and `timestamp` as optional (a file may be named instead):
        # without both, `no_item_specified`.
        channel, ts = args.get("channel", ""), args.get("timestamp", "")
        if not channel or not ts:
            raise SlackError("no_item_specified")
        self._require(channel, ts)  # type: ignore[attr-defined]
        return (channel, ts), args["name"]

    def _set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        # docs.slack.dev/reference/methods/assistant.threads.setStatus: any thread the bot can write in (chat:write,
        # since 2026-03, also channel threads); errors `channel_not_found`, `invalid_thread_ts`.
        channel, thread_ts = args["channel_id"], args["thread_ts"]
        if self._find(channel, thread_ts) is None:  # type: ignore[attr-defined]
            raise SlackError("invalid_thread_ts")
        self.statuses.append((channel, thread_ts, args.get("status", "")))
        return {}

    def _set_suggested_prompts(self, args: dict[str, Any]) -> dict[str, Any]:
        self.suggested_prompts.append(args)
        return {}

    def _set_title(self, args: dict[str, Any]) -> dict[str, Any]:
        self.titles.append(args)
        return {}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        # docs.slack.dev/reference/methods/views.publish: `user_id` and `view` required; a Home tab view has
        # `type: home` and at most 100 blocks (docs.slack.dev/reference/views/home-tab-views). The page lists no
        # error for a user Slack does not know; the fake answers `invalid_arguments`, the common error.
        user_id, view = args["user_id"], args["view"]
        if not isinstance(view, dict) or view.get("type") != "home" or len(view.get("blocks") or []) > 100:
            raise SlackError("invalid_arguments")
        check_blocks(view["blocks"])
        if user_id not in self._users:
            raise SlackError("invalid_arguments")
        self.home_views[user_id] = view
        return {"view": {"id": f"V{len(self.home_views):08d}", **view}}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self._port}/socket"}
