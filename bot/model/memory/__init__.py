"""Where the model's side of a conversation's memory lives: one interface, one implementation per
`MEMORY_MODE`, chosen at start-up (`build_model_memory`). The turn only ever talks to `ModelMemory`.

- `responses`: OpenAI's stored responses, chained with `previous_response_id` (kept about 30 days).
- `conversations`: an OpenAI Conversation per Slack conversation (kept until deleted).
- `local`: a transcript in Redis; nothing is stored at the model provider.
"""

from __future__ import annotations

from openai import AsyncOpenAI

from bot.model.memory.base import MemoryGone, ModelMemory, RunPlan
from bot.model.memory.conversations import ConversationsMemory
from bot.model.memory.local import LocalMemory
from bot.model.memory.responses import ResponsesMemory
from bot.state.memory import Memory

__all__ = ["MemoryGone", "ModelMemory", "RunPlan", "build_model_memory"]


def build_model_memory(
    mode: str,
    *,
    openai_client: AsyncOpenAI,
    memory: Memory,
    budget_chars: int,
    max_visual: int,
    encrypted_reasoning: bool,
    retention_seconds: int,
) -> ModelMemory:
    """The `MEMORY_MODE` implementation; the settings are passed as values so the model side needs no settings."""
    if mode == "conversations":
        return ConversationsMemory(openai_client)
    if mode == "local":
        return LocalMemory(
            memory, budget_chars=budget_chars, max_visual=max_visual, encrypted_reasoning=encrypted_reasoning
        )
    return ResponsesMemory(retention_seconds=retention_seconds)
