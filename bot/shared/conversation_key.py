"""Which remembered conversation a message belongs to: the key every layer uses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConversationKey:
    """One remembered conversation: a Slack thread, or a DM's running top-level conversation."""

    team_id: str
    channel_id: str
    thread_ts: str  # "" for the running conversation of a DM

    @property
    def is_dm_running(self) -> bool:
        return not self.thread_ts

    def __str__(self) -> str:
        return f"{self.team_id}/{self.channel_id}/{self.thread_ts or 'dm'}"
