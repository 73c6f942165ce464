"""Every Redis key name the bot uses, and how long each kind of key lives.

Every key carries the prefix and the team id, and has a TTL. On a Redis Cluster the channel id is a hash tag.
"""

from __future__ import annotations

from bot.shared.conversation_key import ConversationKey

SEEN_TTL_SECONDS = 3600  # Slack stops retrying an event after about 5 minutes
RESET_TTL_SECONDS = 400 * 86400  # a channel-wide /reset outlives any thread's memory of it
NOTES_TTL_SECONDS = 400 * 86400  # long-term notes: kept this long after their last change
NAME_TTL_SECONDS = 86400
USAGE_DAY_TTL_SECONDS = 8 * 86400  # a day's counters serve the usage view's last 7 days, wherever the clock is
ACCESS_NOTE_TTL_SECONDS = 86400  # someone outside the access rules is told at most once a day per place
USER_GROUP_TTL_SECONDS = 600  # a user group's members are asked of Slack again after this
LOCK_TIMEOUT_SECONDS = 60.0  # renewed while a turn runs; expires if its process dies
QUEUE_TTL_SECONDS = int(LOCK_TIMEOUT_SECONDS * 10)
# A decided or expired approval request is kept this much longer, so a late click can be told what happened.
APPROVAL_AFTERLIFE_SECONDS = 86400
FEEDBACK_TTL_SECONDS = 400 * 86400  # a vote and the tallies: the usage view reads them over months


class Keys:
    """Every key name. On a Redis Cluster the channel id is a hash tag, so that a conversation's keys,
    its channel's reset and its messages' de-duplication share one slot (the scripts touch them
    together); user names share their workspace's slot. A single Redis keeps the names it always had."""

    def __init__(self, prefix: str, *, hash_tags: bool) -> None:
        self._prefix = prefix
        self._hash_tags = hash_tags

    @property
    def prefix(self) -> str:
        return self._prefix

    def slot(self, part: str) -> str:
        """`part` as a hash tag on a cluster (keys sharing it share a slot), as itself on a single Redis."""
        return f"{{{part}}}" if self._hash_tags else part

    def _conversation(self, kind: str, key: ConversationKey) -> str:
        return f"{self._prefix}:{key.team_id}:{kind}:{self.slot(key.channel_id)}:{key.thread_ts or 'dm'}"

    def thread(self, key: ConversationKey) -> str:
        return self._conversation("thread", key)

    def not_ours(self, key: ConversationKey) -> str:
        return self._conversation("notours", key)

    def viewing(self, key: ConversationKey) -> str:
        # What a person has open is theirs, not a thread's: one key per DM, read by each of its conversations.
        return f"{self._prefix}:{key.team_id}:viewing:{self.slot(key.channel_id)}"

    def usage(self, key: ConversationKey) -> str:
        return self._conversation("usage", key)

    def usage_day(self, team_id: str, day: str) -> str:
        """A workspace's counters of one UTC day (by person, channel, model, outcome): one hash, one slot."""
        day_of_team = self.slot(f"{team_id}-{day}") if self._hash_tags else day  # each workspace-day its own slot
        return f"{self._prefix}:{team_id}:usage-day:{day_of_team}"

    def access_noted(self, team_id: str, place: str, user_id: str) -> str:
        return f"{self._prefix}:{team_id}:access-noted:{self.slot(place)}:{user_id}"

    def user_group(self, team_id: str, group_id: str) -> str:
        return f"{self._prefix}:{team_id}:usergroup:{group_id}"

    def lock(self, key: ConversationKey) -> str:
        return self._conversation("lock", key)

    def queue(self, key: ConversationKey) -> str:
        return self._conversation("queue", key)

    def channel_reset(self, team_id: str, channel_id: str) -> str:
        return f"{self._prefix}:{team_id}:reset:{self.slot(channel_id)}"

    def seen(self, team_id: str, channel_id: str, ts: str) -> str:
        return f"{self._prefix}:{team_id}:seen:{self.slot(channel_id)}:{ts}"

    def remembering_since(self, team_id: str) -> str:
        return f"{self._prefix}:{team_id}:remembering-since"

    def channel_remembering_since(self, team_id: str, channel_id: str) -> str:
        return f"{self._prefix}:{team_id}:remembering-since:{self.slot(channel_id)}"

    def person_notes(self, team_id: str, user_id: str) -> str:
        """One person's long-term notes in a workspace: one hash (one slot), tagged by the person."""
        return f"{self._prefix}:{team_id}:notes:user:{self.slot(user_id)}"

    def channel_notes(self, team_id: str, channel_id: str) -> str:
        """A channel's long-term notes, in its conversations' slot: the begin script reads their version."""
        return f"{self._prefix}:{team_id}:notes:channel:{self.slot(channel_id)}"

    def notes_in_begin(self, key: ConversationKey, user_id: str) -> list[str]:
        """The notes whose versions a turn's begin script reads: the channel's, and the speaker's on one Redis
        (on a cluster it lives on another node: the turn reads it when it needs it). No speaker: none."""
        if not user_id:
            return []
        channel = self.channel_notes(key.team_id, key.channel_id)
        return [channel] if self._hash_tags else [channel, self.person_notes(key.team_id, user_id)]

    def name(self, team_id: str, user_id: str) -> str:
        return f"{self._prefix}:{team_id}:name:{self.slot(team_id) + ':' if self._hash_tags else ''}{user_id}"

    # Approvals: a paused run waiting for a person, the conversation's note of it, and when requests expire.
    def approval(self, team_id: str, approval_id: str) -> str:
        return f"{self._prefix}:{team_id}:approval:{self.slot(approval_id)}"

    def approval_decided(self, team_id: str, approval_id: str) -> str:
        """What became of a request (for late clicks); in its request's slot: one script moves it."""
        return f"{self.approval(team_id, approval_id)}:decided"

    def approval_waiting(self, key: ConversationKey) -> str:
        return self._conversation("approval-waiting", key)

    def approvals_expiring(self) -> str:
        return f"{self._prefix}:approvals-expiring"

    # Feedback on answers: each person's last vote on a message, their comments, and the tallies.
    def feedback(self, team_id: str, channel_id: str, message_ts: str) -> str:
        return f"{self._prefix}:{team_id}:feedback:{self.slot(channel_id)}:{message_ts}"

    def feedback_comment(self, team_id: str, channel_id: str, message_ts: str, user_id: str) -> str:
        return f"{self._prefix}:{team_id}:feedback-comment:{self.slot(channel_id)}:{message_ts}:{user_id}"

    def feedback_tallies(self, team_id: str) -> str:
        return f"{self._prefix}:{team_id}:feedback-tallies"
