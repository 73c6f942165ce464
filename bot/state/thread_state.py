"""What the bot remembers of one conversation, as plain values: no Redis here, only decisions.

`ThreadState` is what Redis keeps per conversation (encoded in one short string); `Recall` is what a
turn starts from, and decides whether the chain can be used or the conversation must be rebuilt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation


def ts_value(ts: str) -> Decimal:
    """A Slack ts ("1767000000.000100") as a number; "" is the beginning of time."""
    try:
        return Decimal(ts) if ts else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def latest_ts(*stamps: str) -> str:
    return max(stamps, key=ts_value, default="")


def now_ts() -> str:
    return f"{time.time():.6f}"


@dataclass(frozen=True)
class ThreadState:
    """What Redis keeps per conversation; its presence means the bot is part of the thread."""

    # The memory mode's reference: a response id, a conversation id, or the mark of a local transcript.
    response_id: str = ""
    stored_at: float = 0.0
    anchor_ts: str = ""  # the Slack ts of the last message answered
    reset_ts: str = ""  # messages at or before this were forgotten by a reset
    memory_mode: str = ""  # the mode that wrote `response_id`; "" (older states) is "responses"
    notes_sent: str = ""  # the long-term notes this memory holds (`SentNotes`, encoded)

    def encode(self) -> str:
        # New fields come last: the store script in memory.py reads fields 3 and 4 by position.
        fields = [self.response_id, str(int(self.stored_at)), self.anchor_ts, self.reset_ts, self.memory_mode]
        return "|".join([*fields, self.notes_sent] if self.notes_sent else fields)

    @classmethod
    def decode(cls, raw: str) -> ThreadState:
        response_id, stored_at, anchor_ts, reset_ts, memory_mode, notes_sent = ([*raw.split("|"), *[""] * 6])[:6]
        try:
            stored = float(stored_at or 0)
        except ValueError:
            stored = 0.0
        return cls(response_id, stored, anchor_ts, reset_ts, memory_mode, notes_sent)


@dataclass(frozen=True)
class Recall:
    """What the bot remembers of one conversation at the start of a turn."""

    state: ThreadState | None  # None: nothing remembered (not part of the thread, as far as Redis knows)
    raw: str | None  # the stored value as read, for compare-and-set; None when Redis was unreachable
    channel_reset_ts: str = ""
    not_ours: bool = False  # Slack was asked once already: the bot has no part in this thread
    remembering_since: str = ""  # when Redis began remembering this workspace; "" if it has forgotten everything
    viewed_channel_id: str = ""  # in the assistant pane: the channel the person has open beside the thread
    # Long-term notes' version per owner (a person's id, or "#" for the channel) as read with the state;
    # None: not read with it (the turn waited in line, or Redis is away), to be read when needed.
    notes_versions: dict[str, str] | None = None

    def with_notes_versions(self, versions: dict[str, str] | None) -> Recall:
        return replace(self, notes_versions=versions)

    @property
    def from_redis(self) -> bool:
        return self.raw is not None

    def may_have_forgotten(self, thread_ts: str, *, now: float, memory_seconds: float) -> bool:
        """Redis has nothing for this thread but may have lost it (a restart without persistence, an
        eviction): the thread began before Redis's memory did, within the time the bot follows threads.
        Only Slack's history can then say whether the bot is part of it."""
        if self.state is not None or not self.from_redis or self.not_ours:
            return False
        if ts_value(thread_ts) < Decimal(now - memory_seconds):
            return False
        return not self.remembering_since or ts_value(thread_ts) < ts_value(self.remembering_since)

    @property
    def forget_before(self) -> str:
        """Messages at or before this ts must never reach the model again."""
        return latest_ts(self.state.reset_ts if self.state else "", self.channel_reset_ts)

    def usable_reference(self, now: float, *, mode: str, retention_seconds: float | None) -> str | None:
        """The memory to continue, or None when the conversation must be rebuilt from Slack: none kept,
        kept by another memory mode (the deployment changed modes), expired, or from before a reset."""
        state = self.state
        if state is None or not state.response_id:
            return None
        if (state.memory_mode or "responses") != mode:
            return None
        if retention_seconds is not None and now - state.stored_at > retention_seconds:
            return None
        if ts_value(state.anchor_ts) <= ts_value(self.forget_before):
            return None
        return state.response_id

    def superseded_reference(self, *, mode: str) -> str | None:
        """A reference of this mode that a rebuild replaces (after a reset, say): to forget where it lives."""
        state = self.state
        if state is None or not state.response_id or (state.memory_mode or "responses") != mode:
            return None
        return state.response_id
