"""Long-term notes in Redis: a person's (per workspace) and a channel's, each owner's notes in one hash.

A hash holds one field per note (its id → JSON text, origin, created) and `_v`, a version token changed on
every change: a turn compares it with what its conversation was sent, and reads the notes only when it differs.
Each owner's hash is one key, so one slot on a Redis Cluster; a channel's shares its conversations' slot.
While Redis is unreachable, reads give nothing and writes raise `RedisUnavailable`: the turn goes on without notes.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.state.keys import NOTES_TTL_SECONDS, Keys
from bot.state.notes_sent import CHANNEL_OWNER
from bot.state.redis_link import RedisGuard, RedisUnavailable

NOTE_MAX_CHARS = 300
VERSION_FIELD = "_v"
PRIVATE_ORIGIN = "dm"  # saved in a DM or the assistant pane: used only there

# KEYS: the owner's hash. ARGV: note id, note JSON, new version, most notes, ttl.
# Returns {1, version} when saved, {0, oldest note's id} when the owner already has the most notes,
# {2} when the id is taken (the caller draws another).
_ADD_SCRIPT = """
local fields = redis.call('HGETALL', KEYS[1])
local count, oldest, oldest_at = 0, false, nil
for i = 1, #fields, 2 do
  if fields[i] ~= '_v' then
    count = count + 1
    if fields[i] == ARGV[1] then return {2} end
    local at = tonumber(string.match(fields[i + 1], '"created": *([0-9.]+)')) or 0
    if oldest_at == nil or at < oldest_at then oldest, oldest_at = fields[i], at end
  end
end
if count >= tonumber(ARGV[4]) then return {0, oldest} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], '_v', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return {1, ARGV[3]}
"""

# KEYS: the owner's hash. ARGV: note id, new version. Returns 1 if the note was there.
_REMOVE_SCRIPT = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HLEN', KEYS[1]) <= 1 then redis.call('DEL', KEYS[1]) return 1 end
redis.call('HSET', KEYS[1], '_v', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Note:
    id: str
    text: str
    origin: str  # PRIVATE_ORIGIN, or the channel id it was saved in
    created: float

    @property
    def private(self) -> bool:
        return self.origin == PRIVATE_ORIGIN


@dataclass(frozen=True)
class OwnerNotes:
    """One owner's notes as read: the version token ("" when there are none) and the notes, oldest first."""

    version: str = ""
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True)
class Saved:
    note: Note | None  # None: not saved, the owner already has the most notes
    oldest: Note | None = None  # then: the note to drop first


def notes_versions(read: list[Any], speaker_id: str) -> dict[str, str] | None:
    """The versions the begin script read after its own answer: the channel's, then the speaker's (not on a
    cluster, where a person's notes live on another node than the conversation)."""
    if not speaker_id or not read:
        return None
    return dict(zip((CHANNEL_OWNER, speaker_id), ((v or b"").decode() for v in read), strict=False))


def new_version() -> str:
    return secrets.token_hex(4)


def decode_notes(raw: dict[bytes, bytes]) -> OwnerNotes:
    version = ""
    notes: list[Note] = []
    for field, value in raw.items():
        name = field.decode()
        if name == VERSION_FIELD:
            version = value.decode()
            continue
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            data = json.loads(value)
            notes.append(Note(name, str(data["text"]), str(data["origin"]), float(data["created"])))
    return OwnerNotes(version, tuple(sorted(notes, key=lambda n: (n.created, n.id))))


class NotesStore:
    """Reads and writes owners' notes; `owner_key` comes from `person_key` or `channel_key`."""

    def __init__(self, guard: RedisGuard, keys: Keys, *, max_notes: int) -> None:
        self._guard = guard
        self._keys = keys
        self.max_notes = max_notes
        self._add = guard.client.register_script(_ADD_SCRIPT)
        self._remove = guard.client.register_script(_REMOVE_SCRIPT)

    def person_key(self, team_id: str, user_id: str) -> str:
        return self._keys.person_notes(team_id, user_id)

    def channel_key(self, team_id: str, channel_id: str) -> str:
        return self._keys.channel_notes(team_id, channel_id)

    async def read(self, owner_key: str) -> OwnerNotes | None:
        """The owner's notes; None while Redis is unreachable."""
        try:
            raw = await self._guard.run(lambda r: r.hgetall(owner_key))
        except RedisUnavailable:
            return None
        return decode_notes(raw)

    async def version(self, owner_key: str) -> str | None:
        """The owner's version token ("" for no notes); None while Redis is unreachable."""
        try:
            raw = await self._guard.run(lambda r: r.hget(owner_key, VERSION_FIELD))
        except RedisUnavailable:
            return None
        return raw.decode() if raw else ""

    async def add(self, owner_key: str, text: str, *, origin: str) -> Saved:
        """Save a note (text already checked); raises RedisUnavailable."""
        created = time.time()
        for _attempt in range(5):
            note = Note(secrets.token_hex(3), text, origin, created)
            payload = json.dumps({"text": text, "origin": origin, "created": created})
            args = [note.id, payload, new_version(), self.max_notes, NOTES_TTL_SECONDS]
            reply = await self._guard.run(lambda r, a=args: self._add(keys=[owner_key], args=a, client=r))
            if reply[0] == 1:
                return Saved(note)
            if reply[0] == 0:
                oldest_id = reply[1].decode() if reply[1] else ""
                current = await self.read(owner_key) or OwnerNotes()
                return Saved(None, next((n for n in current.notes if n.id == oldest_id), None))
        raise RedisUnavailable("no free note id")  # five collisions of 24 random bits: not this universe

    async def remove(self, owner_key: str, note_id: str) -> bool:
        """Forget one note; False if the owner has no such note. Raises RedisUnavailable."""
        args = [note_id, new_version()]
        return bool(await self._guard.run(lambda r: self._remove(keys=[owner_key], args=args, client=r)))

    async def clear(self, owner_key: str) -> int:
        """Forget every note of the owner; how many there were. Raises RedisUnavailable."""
        current = await self.read(owner_key)
        await self._guard.run(lambda r: r.delete(owner_key))
        return len(current.notes) if current else 0
