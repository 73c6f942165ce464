"""What a conversation's model memory has been sent of long-term notes: per owner (a person, or "#" for the
channel), the notes version it saw and the ids of the notes it was shown. Kept in the conversation's state
(`ThreadState.notes_sent`), so a chained turn knows, from the one read it already makes, whether to send anything.
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNEL_OWNER = "#"


@dataclass(frozen=True)
class SentNotes:
    """owner -> (version, ids shown). Encoded without '|' (the state's separator) or ',' inside entries."""

    entries: tuple[tuple[str, str, frozenset[str]], ...] = ()

    def of(self, owner: str) -> tuple[str, frozenset[str]] | None:
        for name, version, ids in self.entries:
            if name == owner:
                return version, ids
        return None

    def with_owner(self, owner: str, version: str, ids: frozenset[str]) -> SentNotes:
        kept = tuple(e for e in self.entries if e[0] != owner)
        return SentNotes((*kept, (owner, version, ids)))

    def encode(self) -> str:
        return ",".join(f"{owner}@{version}:{'.'.join(sorted(ids))}" for owner, version, ids in self.entries)

    @classmethod
    def decode(cls, raw: str) -> SentNotes:
        entries = []
        for part in raw.split(","):
            owner, _, rest = part.partition("@")
            version, _, ids = rest.partition(":")
            if owner:
                entries.append((owner, version, frozenset(i for i in ids.split(".") if i)))
        return cls(tuple(entries))
