"""The model's long-term memory tools: `remember`, `forget` and `list_notes`.

None takes a person: whose notes these are comes from the run context (`TurnContext.notes`, set by the turn
from the speaker and the place), so the model cannot write a note about anyone but the person speaking, or
the channel they speak in. What the tools did is kept on the scope, for the line the bot adds to its answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agents import FunctionTool, RunContextWrapper, function_tool

from bot.state.notes import NOTE_MAX_CHARS, PRIVATE_ORIGIN, Note, NotesStore, OwnerNotes
from bot.state.notes_sent import CHANNEL_OWNER
from bot.state.redis_link import RedisUnavailable

UNAVAILABLE = "Long-term memory is unavailable right now: nothing was changed. Tell the person so."


@dataclass
class NotesScope:
    """Whose notes a turn may read and write: the speaker's, and (outside DMs) the channel's."""

    store: NotesStore
    team_id: str
    speaker_id: str
    channel_id: str
    private: bool  # a DM or the assistant pane: personal notes saved here stay here
    changes: list[str] = field(default_factory=list)  # what the tools did, for the person
    # What the tools did, for the conversation's record of what it knows: (owner, note id, added?).
    # Owner: the speaker's id, or "#" for the channel (CHANNEL_OWNER).
    edits: list[tuple[str, str, bool]] = field(default_factory=list)

    @property
    def person_key(self) -> str:
        return self.store.person_key(self.team_id, self.speaker_id)

    @property
    def channel_key(self) -> str:
        return self.store.channel_key(self.team_id, self.channel_id)

    @property
    def origin(self) -> str:
        return PRIVATE_ORIGIN if self.private else self.channel_id

    def visible_personal(self, notes: OwnerNotes) -> tuple[Note, ...]:
        """A person's notes usable here: all in their DMs, only those saved in a channel elsewhere."""
        return notes.notes if self.private else tuple(n for n in notes.notes if not n.private)


def said_changes(scope: NotesScope | None) -> str:
    """The lines the bot adds under its answer about what the notes tools did ("" when they did nothing)."""
    return "\n\n" + "\n".join(scope.changes) if scope is not None and scope.changes else ""


def quoted(text: str) -> str:
    return f"“{text}”"


def _scope(ctx: RunContextWrapper[Any]) -> NotesScope:
    # The context is a TurnContext (bot.model.agent, which imports this module's NotesScope for its type).
    scope = getattr(ctx.context, "notes", None)
    if scope is None:  # the tools are only given when the turn has a scope
        raise RuntimeError("no notes scope in this run")
    return scope


@function_tool
async def remember(ctx: RunContextWrapper[Any], note: str, about: Literal["me", "channel"]) -> str:
    """Save a long-term note for later conversations: when the person asks you to remember something, or states
    a lasting preference or fact about themselves. Never about anyone else; never secrets.

    Args:
        note: One short third-person sentence, e.g. "prefers answers in French" (at most 300 characters).
        about: "me": the person speaking; "channel": everyone in this channel.
    """
    scope = _scope(ctx)
    text = " ".join(note.split())
    if not text:
        return "Nothing saved: the note is empty."
    if len(text) > NOTE_MAX_CHARS:
        return f"Nothing saved: a note is at most {NOTE_MAX_CHARS} characters ({len(text)} given). Shorten it."
    if about == "channel" and scope.private:
        return 'Nothing saved: this is a direct message, not a channel. Save it with about="me".'
    key = scope.channel_key if about == "channel" else scope.person_key
    try:
        saved = await scope.store.add(key, text, origin=scope.origin)
    except RedisUnavailable:
        scope.changes.append("Memory not updated: long-term memory is unavailable right now")
        return UNAVAILABLE
    whose = "this channel's" if about == "channel" else "the person's"
    if saved.note is None:
        oldest = saved.oldest
        drop = f" The oldest is [{oldest.id}] {quoted(oldest.text)}." if oldest else ""
        scope.changes.append(
            f"Memory full ({scope.store.max_notes} notes): not saved."
            + (f" Oldest: {quoted(oldest.text)}" if oldest else "")
        )
        return (
            f"Not saved: {whose} memory is full ({scope.store.max_notes} notes).{drop} "
            "Ask the person which note to forget (the forget tool), then save this one again."
        )
    prefix = "Channel memory updated" if about == "channel" else "Memory updated"
    scope.changes.append(f"{prefix}: {saved.note.text}")
    scope.edits.append((CHANNEL_OWNER if about == "channel" else scope.speaker_id, saved.note.id, True))
    return f"Saved as note [{saved.note.id}] in {whose} long-term memory."


@function_tool
async def forget(ctx: RunContextWrapper[Any], note_id: str) -> str:
    """Forget a long-term note of the person speaking or of this channel, by its id (shown in brackets).

    Args:
        note_id: The id, e.g. a1b2c3.
    """
    scope = _scope(ctx)
    wanted = note_id.strip().strip("[]")
    owners = [(scope.speaker_id, scope.person_key, "Memory updated")]
    if not scope.private:
        owners.append((CHANNEL_OWNER, scope.channel_key, "Channel memory updated"))
    try:
        for owner, key, prefix in owners:
            notes = await scope.store.read(key)
            if notes is None:
                raise RedisUnavailable("notes")
            found = next((n for n in notes.notes if n.id == wanted), None)
            if found is not None and await scope.store.remove(key, wanted):
                scope.changes.append(f"{prefix}: forgot {quoted(found.text)}")
                scope.edits.append((owner, wanted, False))
                return f"Forgot note [{wanted}]."
    except RedisUnavailable:
        scope.changes.append("Memory not updated: long-term memory is unavailable right now")
        return UNAVAILABLE
    return f"No note [{wanted}] here: nothing forgotten. The list_notes tool shows the notes and their ids."


@function_tool
async def list_notes(ctx: RunContextWrapper[Any]) -> str:
    """List the long-term notes usable here, with their ids (when asked what you remember)."""
    scope = _scope(ctx)
    person = await scope.store.read(scope.person_key)
    channel = None if scope.private else await scope.store.read(scope.channel_key)
    if person is None or (channel is None and not scope.private):
        return UNAVAILABLE
    lines = ["About the person speaking:", *notes_lines(scope.visible_personal(person))]
    if not scope.private and channel is not None:
        lines += ["About this channel:", *notes_lines(channel.notes)]
    hidden = len(person.notes) - len(scope.visible_personal(person))
    if hidden:
        lines.append(f"({hidden} more note(s) saved in direct messages are only used there.)")
    return "\n".join(lines)


def notes_lines(notes: tuple[Note, ...]) -> list[str]:
    return [f"- [{n.id}] {n.text}" for n in notes] or ["- (none)"]


NOTE_TOOLS: tuple[FunctionTool, ...] = (remember, forget, list_notes)
