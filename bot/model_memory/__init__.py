"""Where the model's side of a conversation's memory lives: one interface, one implementation per
`MEMORY_MODE`, chosen at start-up (`build_model_memory`). The turn only ever talks to `ModelMemory`.

- `responses`: OpenAI's stored responses, chained with `previous_response_id` (kept about 30 days).
- `conversations`: an OpenAI Conversation per Slack conversation (kept until deleted).
- `local`: a transcript in Redis; nothing is stored at the model provider.
"""

from __future__ import annotations

from openai import AsyncOpenAI

from ..memory import Memory
from ..settings import Settings
from .base import MemoryGone, ModelMemory, RunPlan
from .conversations import ConversationsMemory
from .local import LocalMemory
from .responses import ResponsesMemory

__all__ = ["MemoryGone", "ModelMemory", "RunPlan", "build_model_memory"]


def build_model_memory(settings: Settings, *, openai_client: AsyncOpenAI, memory: Memory) -> ModelMemory:
    if settings.memory_mode == "conversations":
        return ConversationsMemory(openai_client)
    if settings.memory_mode == "local":
        return LocalMemory(
            memory,
            budget_chars=settings.history_budget_chars,
            max_visual=settings.history_max_images,
            encrypted_reasoning=settings.openai_api == "responses",
        )
    return ResponsesMemory(retention_seconds=settings.response_retention_days * 86400)
