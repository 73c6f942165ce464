"""Feedback on answers (the thumbs under each one), in Redis: each person's last vote per message, and tallies.

Slack's feedback buttons toggle, so a person may vote, change their mind, and vote again: the last value wins,
and the tallies count each person's current vote once (a script swaps the vote and returns the old one; the
counts then move from the old to the new). Tallies are per workspace, with fields per channel and per model;
`tallies` reads them for the usage view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.state.keys import FEEDBACK_TTL_SECONDS, Keys
from bot.state.redis_link import RedisGuard

VOTES = ("good", "bad")

# KEYS: the message's votes (hash: user -> vote). ARGV: user, vote, ttl. Returns the previous vote ("" for none):
# each change of a person's vote is seen by exactly one caller, which moves the tallies (another key, another
# slot on a cluster; increments commute, so the tallies stay exact without one script for both).
_VOTE = """
local old = redis.call('HGET', KEYS[1], ARGV[1]) or ''
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return old
"""


@dataclass
class Tally:
    good: int = 0
    bad: int = 0


@dataclass
class FeedbackTallies:
    """Current votes in a workspace: overall, per channel and per model."""

    workspace: Tally = field(default_factory=Tally)
    channels: dict[str, Tally] = field(default_factory=dict)
    models: dict[str, Tally] = field(default_factory=dict)


class FeedbackStore:
    def __init__(self, guard: RedisGuard, keys: Keys) -> None:
        self._guard = guard
        self._keys = keys
        self._vote = guard.client.register_script(_VOTE)

    async def vote(self, *, team_id: str, channel_id: str, message_ts: str, user_id: str, vote: str, model: str) -> str:
        """Store a person's vote on an answer (last value wins); returns their previous vote ("" for none).
        Raises RedisUnavailable."""
        keys = [self._keys.feedback(team_id, channel_id, message_ts)]
        raw = await self._guard.run(
            lambda r: self._vote(keys=keys, args=[user_id, vote, FEEDBACK_TTL_SECONDS], client=r)
        )
        old = raw.decode() if isinstance(raw, bytes) else str(raw or "")
        if old != vote:
            tallies = self._keys.feedback_tallies(team_id)
            async with self._guard.client.pipeline(transaction=False) as pipe:
                for scope in ("all", f"channel:{channel_id}", f"model:{model or 'unknown'}"):
                    if old:
                        pipe.hincrby(tallies, f"{scope}:{old}", -1)
                    pipe.hincrby(tallies, f"{scope}:{vote}", 1)
                pipe.expire(tallies, FEEDBACK_TTL_SECONDS)
                await self._guard.run(lambda _r: pipe.execute())
        return old

    async def votes(self, team_id: str, channel_id: str, message_ts: str) -> dict[str, str]:
        raw = await self._guard.run(lambda r: r.hgetall(self._keys.feedback(team_id, channel_id, message_ts)))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def comment(self, *, team_id: str, channel_id: str, message_ts: str, user_id: str, text: str) -> None:
        """What went wrong, in the person's words (the thumbs-down form): kept, never logged."""
        key = self._keys.feedback_comment(team_id, channel_id, message_ts, user_id)
        await self._guard.run(lambda r: r.set(key, text, ex=FEEDBACK_TTL_SECONDS))

    async def comment_of(self, team_id: str, channel_id: str, message_ts: str, user_id: str) -> str:
        raw = await self._guard.run(
            lambda r: r.get(self._keys.feedback_comment(team_id, channel_id, message_ts, user_id))
        )
        return raw.decode() if raw else ""

    async def tallies(self, team_id: str) -> FeedbackTallies:
        """The workspace's current votes (for the admins' usage view). Raises RedisUnavailable."""
        raw = await self._guard.run(lambda r: r.hgetall(self._keys.feedback_tallies(team_id)))
        result = FeedbackTallies()
        for name, count in raw.items():
            scope, _, vote = name.decode().rpartition(":")
            if vote not in VOTES:
                continue
            if scope == "all":
                tally = result.workspace
            elif scope.startswith("channel:"):
                tally = result.channels.setdefault(scope.removeprefix("channel:"), Tally())
            elif scope.startswith("model:"):
                tally = result.models.setdefault(scope.removeprefix("model:"), Tally())
            else:
                continue
            setattr(tally, vote, int(count))
        return result
