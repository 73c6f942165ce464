"""Who may use the bot, and where (`[access]` in agent.toml): a plain decision, and the gate a turn passes first.

Someone outside the rules gets one short ephemeral note a day per place, when they address the bot (a mention
or a DM), and no model call; the bot joins no thread for them.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.operating_config import AccessConfig
from bot.shared import phrases
from bot.shared.metrics import DECLINED
from bot.slack.user_groups import UserGroups
from bot.state.access_marks import AccessMarks
from bot.turn.routing import IncomingMessage

logger = logging.getLogger(__name__)

ALLOWED = "allowed"
NOTES = {
    "channel": phrases.NOT_IN_THIS_CHANNEL,
    "dms": phrases.NO_DIRECT_MESSAGES,
    "person": phrases.NOT_FOR_YOU,
}


def decide(
    rules: AccessConfig, *, user_id: str, channel_id: str, is_dm: bool, group_members: frozenset[str] = frozenset()
) -> str:
    """ "allowed", or why not: "person" (denied, or not among `people`), "dms" (DMs closed), "channel"."""
    if user_id in rules.deny:
        return "person"
    if is_dm and not rules.dms:
        return "dms"
    if not is_dm and rules.channels is not None and channel_id not in rules.channels:
        return "channel"
    if rules.people is not None and user_id not in rules.people and user_id not in group_members:
        return "person"
    return ALLOWED


def needs_group_members(rules: AccessConfig, user_id: str) -> bool:
    """Whether the decision for `user_id` depends on who is in the named user groups."""
    return bool(rules.groups) and rules.people is not None and user_id not in rules.people


class AccessGate:
    def __init__(self, rules: AccessConfig, *, client: AsyncWebClient, groups: UserGroups, marks: AccessMarks) -> None:
        self._rules = rules
        self._client = client
        self._groups = groups
        self._marks = marks
        self._open = rules == AccessConfig()

    @property
    def dms_open(self) -> bool:
        """Whether direct messages and the assistant pane are open (`dms`): a closed pane greets nobody."""
        return self._rules.dms

    async def verdict(self, team_id: str, channel_id: str, user_id: str, *, is_dm: bool) -> str:
        """`decide`'s answer, with the named user groups' members when the decision needs them."""
        if self._open:
            return ALLOWED
        verdict = decide(self._rules, user_id=user_id, channel_id=channel_id, is_dm=is_dm)
        if verdict == "person" and needs_group_members(self._rules, user_id):
            members = await self._groups.members(team_id, self._rules.groups)
            verdict = decide(self._rules, user_id=user_id, channel_id=channel_id, is_dm=is_dm, group_members=members)
        return verdict

    async def admits(self, message: IncomingMessage) -> bool:
        """Whether `message` may be answered; if not, its author may get the day's note (once per place)."""
        key = message.key
        verdict = await self.verdict(key.team_id, key.channel_id, message.user_id, is_dm=message.is_dm)
        if verdict == ALLOWED:
            return True
        DECLINED.labels(reason=f"access_{verdict}").inc()
        addressed = message.mentioned or message.is_dm
        if addressed and await self._marks.first_note_today(key.team_id, key.channel_id, message.user_id):
            await self._note(message, NOTES[verdict])
        return False

    async def _note(self, message: IncomingMessage, text: str) -> None:
        try:
            await self._client.chat_postEphemeral(
                channel=message.key.channel_id, user=message.user_id, thread_ts=message.reply_thread_ts, text=text
            )
        except SlackApiError as error:
            logger.info(
                "Could not tell %s they are outside the access rules: %s", message.key, error.response.get("error")
            )
