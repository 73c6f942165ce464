"""The interface every memory mode implements, and what a turn gets from it."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import openai
from agents import ModelSettings

from bot.model.agent import TurnOutput
from bot.model.input_items import InputItem
from bot.shared.conversation_key import ConversationKey


class MemoryGone(Exception):
    """The memory a reference names is gone (expired, deleted, not found): rebuild from Slack."""


_MISSING_FILE = re.compile(r"\bfile\b.*\bnot found\b|no such file object", re.IGNORECASE)


def is_missing_file(error: BaseException) -> bool:
    """A file the memory refers to is gone at OpenAI (uploaded files expire after 30 days, while a chain or a
    conversation may live longer): the memory cannot be continued, and a rebuild uploads the files again.
    OpenAI does not document this refusal's shape; a 400 or 404 naming a `file_id` or saying so is taken as it."""
    if not isinstance(error, openai.APIStatusError) or error.status_code not in (400, 404):
        return False
    param = str(getattr(error, "param", "") or "")
    return param.endswith("file_id") or bool(_MISSING_FILE.search(str(getattr(error, "message", "") or error)))


@dataclass(frozen=True)
class RunPlan:
    """How to run one turn: items to send before the new message, and the SDK's memory arguments."""

    history: list[InputItem] = field(default_factory=list)
    run_options: dict[str, Any] = field(default_factory=dict)  # previous_response_id / conversation_id
    reference: str = ""  # what the memory is called before the turn (a conversation id, say)
    fresh: bool = False  # a new memory, seeded from a rebuilt history


class ModelMemory(ABC):
    mode: str  # stored with each reference, so that a change of mode is noticed
    uploads_allowed: bool = True  # whether files may be uploaded to the model provider
    retention_seconds: float | None = None  # how long a reference stays usable; None: until deleted

    def model_settings(self, settings: ModelSettings) -> ModelSettings:
        """The model's settings adjusted to this mode (whether responses are stored, say)."""
        return settings

    @abstractmethod
    async def resume(self, key: ConversationKey, reference: str) -> RunPlan:
        """Continue the memory `reference` names; raises MemoryGone when it is known to be gone."""

    @abstractmethod
    async def seed(self, key: ConversationKey, earlier: list[InputItem]) -> RunPlan:
        """Start a new memory holding `earlier` (the conversation rebuilt from Slack, maybe empty)."""

    @abstractmethod
    async def keep(self, key: ConversationKey, plan: RunPlan, output: TurnOutput) -> str:
        """After the answer is in Slack: make the memory hold the turn; returns the reference to store
        ("" when there is nothing to continue from, so the next turn rebuilds)."""

    @abstractmethod
    async def forget(self, key: ConversationKey, reference: str) -> None:
        """A reset, or a rebuild replacing `reference`: delete what it names where it lives (best effort)."""

    def is_gone(self, error: BaseException) -> bool:
        """Whether a failed turn failed because the memory is gone (then rebuild, once)."""
        return isinstance(error, MemoryGone)
