"""Long-term notes in the user turn, at constant cost: all of them when a conversation first meets the speaker
or the channel (or is rebuilt), then only what changed, and nothing on a chained turn where nothing did.

Never in the instructions: they stay byte-identical, a prefix the prompt cache reuses. What a conversation was
sent is `SentNotes`, kept in its state; the versions come with the state's read at the start of the turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.model.input_items import InputItem
from bot.model.note_tools import NotesScope, notes_lines
from bot.state.notes import Note
from bot.state.notes_sent import CHANNEL_OWNER, SentNotes

HEADER = "Long-term notes (saved with the remember tool; ids in brackets). Follow them; mention them only if asked."
CHANGED_HEADER = "Long-term notes changed since you last saw them:"


@dataclass(frozen=True)
class _Owner:
    name: str  # the person's id, or CHANNEL_OWNER
    key: str
    label: str


class TurnNotes:
    """The notes item of one turn (`item`), and what the conversation holds once it is sent (`sent`)."""

    def __init__(self, scope: NotesScope, *, sent: str, versions: dict[str, str] | None, speaker_label: str) -> None:
        self.scope = scope
        self._sent_before = SentNotes.decode(sent)
        self._versions = versions
        owners = [_Owner(scope.speaker_id, scope.person_key, f"About {speaker_label}")]
        if not scope.private:
            owners.append(_Owner(CHANNEL_OWNER, scope.channel_key, f"About this channel (<#{scope.channel_id}>)"))
        self._owners = owners
        self._sent = SentNotes.decode(sent)  # what the conversation holds once this turn's item is sent

    def carrying(self, sent: str) -> TurnNotes:
        """This turn resumed after a pause: its input, with the notes it gave, was sent before the pause."""
        self._sent_before = self._sent = SentNotes.decode(sent)
        return self

    @property
    def sent(self) -> str:
        """The record to keep with the conversation after the turn: what was sent, and what the tools did
        (the chain holds their calls: a note saved now is known, and its deletion later is sent as a change)."""
        record = self._sent
        for owner, note_id, added in self.scope.edits:
            version, ids = record.of(owner) or ("", frozenset())
            record = record.with_owner(owner, version, ids | {note_id} if added else ids - {note_id})
        return record.encode()

    async def item(self, *, chained: bool) -> InputItem | None:
        """The user-role item to send before the message; None when there is nothing new for the model."""
        record = self._sent_before if chained else SentNotes()
        full: list[str] = []
        changes: list[str] = []
        for owner in self._owners:
            before = record.of(owner.name)
            if before is not None:
                version = await self._version(owner)
                if version is None or version == before[0]:
                    continue  # unchanged, or Redis is away: the conversation keeps what it has
            notes = await self.scope.store.read(owner.key)
            if notes is None:
                continue  # Redis is away: no notes this turn, and none recorded as sent
            visible = self.scope.visible_personal(notes) if owner.name != CHANNEL_OWNER else notes.notes
            ids = frozenset(n.id for n in visible)
            record = record.with_owner(owner.name, notes.version, ids)
            if before is None:
                if visible:
                    full += [f"{owner.label}:", *notes_lines(visible)]
            else:
                changes += _changes(owner.label, visible, before[1])
        self._sent = record
        if not full and not changes:
            return None
        text = "\n".join([HEADER, *full] if full else [])
        if changes:
            text = "\n".join(part for part in (text, CHANGED_HEADER, *changes) if part)
        return {"role": "user", "content": text}

    async def _version(self, owner: _Owner) -> str | None:
        if self._versions is not None and owner.name in self._versions:
            return self._versions[owner.name]
        return await self.scope.store.version(owner.key)


def _changes(label: str, visible: tuple[Note, ...], shown_before: frozenset[str]) -> list[str]:
    added = [n for n in visible if n.id not in shown_before]
    gone = sorted(shown_before - {n.id for n in visible})
    lines = [f"{label}:"] if added or gone else []
    lines += [f"- new: [{n.id}] {n.text}" for n in added]
    lines += [f"- forgotten, no longer true: [{note_id}]" for note_id in gone]
    return lines
