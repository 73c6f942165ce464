"""The Home tab's "What I remember about you": a person's long-term notes, each with a Delete button, and
"Forget everything about me" behind a confirmation; and what those buttons (and a deactivation) do.

Block Kit: a section's `accessory` button, an `actions` block, and a button's `confirm` object (title, text,
confirm, deny, style) make Slack ask before the click is sent (docs.slack.dev/reference/block-kit/composition-objects/
confirmation-dialog-object). A section's text is at most 3,000 characters; a note is at most 300.
"""

from __future__ import annotations

import time
from typing import Any

from bot.state.notes import Note, NotesStore
from bot.state.redis_link import RedisUnavailable

DELETE_NOTE = "notes_delete"
FORGET_ME = "notes_forget_all"
TITLE = "What I remember about you"
OFF = "Long-term memory is off in this workspace: I keep nothing about you between conversations."
UNREACHABLE = "Your notes can't be shown right now: my store is unreachable. Try again in a minute."
NONE_YET = (
    "Nothing yet. Say _remember that…_ to me in a conversation (or state a lasting preference), and it shows here."
)
WHERE_USED = (
    "Notes saved in a direct message or the assistant pane are used only there; "
    "notes saved in a channel are used wherever you talk to me. `/reset` leaves them alone."
)

Block = dict[str, Any]


def mrkdwn_escaped(text: str) -> str:
    """Slack's three control characters, escaped (docs.slack.dev/messaging/formatting-message-text#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _where(note: Note) -> str:
    saved = time.strftime("%Y-%m-%d", time.gmtime(note.created))
    place = "a direct message" if note.private else f"<#{note.origin}>"
    return f"saved in {place} on {saved}"


def notes_blocks(notes: tuple[Note, ...] | None, *, enabled: bool) -> list[Block]:
    """The section's blocks: the buttons come before the list, so a long list cut at 100 blocks keeps them."""
    header: Block = {"type": "header", "text": {"type": "plain_text", "text": TITLE}}
    if not enabled:
        return [header, _text(OFF)]
    if notes is None:
        return [header, _text(UNREACHABLE)]
    if not notes:
        return [header, _text(NONE_YET)]
    forget_all: Block = {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": FORGET_ME,
                "text": {"type": "plain_text", "text": "Forget everything about me"},
                "style": "danger",
                "value": "all",
                "confirm": {
                    "title": {"type": "plain_text", "text": "Forget everything?"},
                    "text": {"type": "plain_text", "text": f"All {len(notes)} notes about you will be deleted."},
                    "confirm": {"type": "plain_text", "text": "Forget everything"},
                    "deny": {"type": "plain_text", "text": "Keep them"},
                    "style": "danger",
                },
            }
        ],
    }
    blocks: list[Block] = [header, {"type": "context", "elements": [{"type": "mrkdwn", "text": WHERE_USED}]}]
    blocks.append(forget_all)
    for note in notes:
        blocks.append(
            {
                "type": "section",
                "block_id": f"note_{note.id}",
                "text": {"type": "mrkdwn", "text": f"{mrkdwn_escaped(note.text)}\n_{_where(note)}_"},
                "accessory": {
                    "type": "button",
                    "action_id": DELETE_NOTE,
                    "text": {"type": "plain_text", "text": "Delete"},
                    "value": note.id,
                },
            }
        )
    return blocks


def _text(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


class RememberedNotes:
    """A person's own notes, as the Home tab shows and changes them."""

    def __init__(self, store: NotesStore, *, enabled: bool) -> None:
        self._store = store
        self.enabled = enabled

    async def home_section(self, team_id: str, user_id: str) -> list[Block]:
        if not self.enabled:
            return notes_blocks((), enabled=False)
        found = await self._store.read(self._store.person_key(team_id, user_id))
        return notes_blocks(found.notes if found is not None else None, enabled=True)

    async def delete(self, team_id: str, user_id: str, note_id: str) -> bool:
        """The person's Delete button; False when Redis is away (the tab then says so)."""
        try:
            await self._store.remove(self._store.person_key(team_id, user_id), note_id)
        except RedisUnavailable:
            return False
        return True

    async def forget_person(self, team_id: str, user_id: str) -> bool:
        """ "Forget everything about me", or the person was deactivated; False when Redis is away."""
        try:
            await self._store.clear(self._store.person_key(team_id, user_id))
        except RedisUnavailable:
            return False
        return True
