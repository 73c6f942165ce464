"""A conversation's transcript (local memory mode): the Agents SDK's RedisSession, or ours on a Redis Cluster.

The Agents SDK's RedisSession writes in MULTI transactions, which redis-py's cluster client refuses
(RedisSession raises TypeError for a RedisCluster client: nothing would be stored). On a cluster the
transcript is this instead: RedisSession's keys and layout (a hash, a list of JSON items), written by one
Lua script. The session id carries the conversation's hash tag, so both keys share one slot and the script
may touch them together. On a single Redis the SDK's RedisSession serves.
"""

from __future__ import annotations

import json
import time
from typing import Any

from agents import TResponseInputItem
from agents.extensions.memory import RedisSession
from agents.memory import Session, SessionSettings
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

# KEYS: the session hash, the messages list. ARGV: replace ('1'), ttl in seconds ('0': none), session id,
# now, then the items (none: only the replace, that is a clear).
_STORE_SCRIPT = """
if ARGV[1] == '1' then redis.call('DEL', KEYS[1], KEYS[2]) end
if #ARGV > 4 then
  redis.call('HSET', KEYS[1], 'session_id', ARGV[3])
  redis.call('HSETNX', KEYS[1], 'created_at', ARGV[4])
  for first = 5, #ARGV, 1000 do
    redis.call('RPUSH', KEYS[2], unpack(ARGV, first, math.min(first + 999, #ARGV)))
  end
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[4])
  if ARGV[2] ~= '0' then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    redis.call('EXPIRE', KEYS[2], ARGV[2])
  end
end
return 1
"""


def open_transcript(client: Redis | RedisCluster, session_id: str, *, key_prefix: str, ttl: int) -> Session:
    """The transcript `session_id` names, under `key_prefix`, living `ttl` seconds after its last write."""
    if isinstance(client, RedisCluster):
        return ClusterTranscript(session_id, redis_client=client, key_prefix=key_prefix, ttl=ttl)
    return RedisSession(session_id, redis_client=client, key_prefix=key_prefix, ttl=ttl)


class ClusterTranscript:
    """The Agents SDK's Session protocol over one conversation's keys in one cluster slot."""

    session_settings: SessionSettings | None = None

    def __init__(self, session_id: str, *, redis_client: RedisCluster, key_prefix: str, ttl: int | None) -> None:
        self.session_id = session_id
        self._redis = redis_client
        self._session_key = f"{key_prefix}:{session_id}"
        self._messages_key = f"{self._session_key}:messages"
        self._ttl = ttl or 0
        self._store_script = redis_client.register_script(_STORE_SCRIPT)

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        if limit is not None and limit <= 0:
            return []
        raw = await self._redis.lrange(self._messages_key, -limit if limit else 0, -1)
        return [item for item in map(_decoded, raw) if item is not None]

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        if items:
            await self._store(items, replace=False)

    async def pop_item(self) -> TResponseInputItem | None:
        while (raw := await self._redis.rpop(self._messages_key)) is not None:
            item = _decoded(raw)
            if item is not None:
                return item
        return None

    async def clear_session(self) -> None:
        await self._store([], replace=True)

    async def _atomic_replace_items(self, items: list[TResponseInputItem]) -> bool:
        """The whole transcript in one step (the hook RedisSession offers the SDK's compaction, by its name)."""
        await self._store(items, replace=True)
        return True

    async def _store(self, items: list[TResponseInputItem], *, replace: bool) -> None:
        serialized = [json.dumps(item, separators=(",", ":")) for item in items]
        args: list[Any] = ["1" if replace else "0", self._ttl, self.session_id, int(time.time()), *serialized]
        await self._store_script(keys=[self._session_key, self._messages_key], args=args)


def _decoded(raw: bytes | str) -> Any:
    """An item as stored, or None for one that is not JSON (skipped, as RedisSession does)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
