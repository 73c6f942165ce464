"""Per-conversation options of every model call: one prompt cache key per conversation and server-side
compaction, each dropped for good (and logged once) when the endpoint refuses it as unknown."""

from __future__ import annotations

import hashlib
import logging

import openai
from agents import ModelSettings

from bot.shared.conversation_key import ConversationKey

logger = logging.getLogger(__name__)

CACHE_KEY = "prompt_cache_key"
COMPACTION = "context_management"


def prompt_cache_key(key: ConversationKey) -> str:
    """The same for every call of one conversation, different between conversations; no Slack id in clear."""
    digest = hashlib.sha256(f"{key.team_id}/{key.channel_id}/{key.thread_ts or 'dm'}".encode()).hexdigest()
    return f"slack-conversation:{digest[:32]}"


class ModelOptions:
    """What every run of a conversation adds to the agent's model settings (passed per run, not per agent)."""

    def __init__(self, *, compact_threshold_tokens: int) -> None:
        self._compact_threshold = compact_threshold_tokens
        self._refused: set[str] = set()  # parameters this endpoint does not take

    @property
    def compaction(self) -> bool:
        return bool(self._compact_threshold) and COMPACTION not in self._refused

    def for_conversation(self, key: ConversationKey) -> ModelSettings:
        extra = {} if CACHE_KEY in self._refused else {CACHE_KEY: prompt_cache_key(key)}
        compaction = [{"type": "compaction", "compact_threshold": self._compact_threshold}] if self.compaction else None
        return ModelSettings(extra_args=extra or None, context_management=compaction)  # type: ignore[arg-type]

    def drop_refused(self, error: openai.APIStatusError) -> bool:
        """True when `error` refuses one of these options: it is left out from now on, and the call can be
        made again without it."""
        refused = refused_option(error)
        if refused is None or refused in self._refused:
            return False
        self._refused.add(refused)
        if refused == COMPACTION:
            logger.warning(
                "The model endpoint refuses %s: long chains are rebuilt from Slack when they overflow", refused
            )
        else:
            logger.warning("The model endpoint refuses %s: calls go without it (no prompt cache grouping)", refused)
        return True


def refused_option(error: openai.APIStatusError) -> str | None:
    """Which of our optional parameters a 400 refuses (`param`, or named in the message, as gateways do)."""
    if error.status_code not in (400, 422):
        return None
    param = getattr(error, "param", None)
    message = str(getattr(error, "message", "") or error)
    for option in (COMPACTION, CACHE_KEY):
        if param == option or option in message:
            return option
    return None
