"""The turn's long-term notes: whose they are (the speaker's, and the channel's outside DMs), and what the
conversation was already sent of them (kept in its state)."""

from __future__ import annotations

from bot.model.note_tools import NotesScope
from bot.model.notes_input import TurnNotes
from bot.state.notes import NotesStore
from bot.state.thread_state import Recall
from bot.turn.history import speaker_label
from bot.turn.routing import IncomingMessage

__all__ = ["NotesStore", "notes_for_turn"]  # the store's type, for the turn that holds one


def notes_for_turn(store: NotesStore, message: IncomingMessage, recall: Recall, names: dict[str, str]) -> TurnNotes:
    key = message.key
    scope = NotesScope(
        store,
        team_id=key.team_id,
        speaker_id=message.user_id,
        channel_id=key.channel_id,
        private=message.is_dm,  # DMs and the assistant pane
    )
    label = speaker_label(names.get(message.user_id), message.user_id)
    sent = recall.state.notes_sent if recall.state else ""
    return TurnNotes(scope, sent=sent, versions=recall.notes_versions, speaker_label=label)
