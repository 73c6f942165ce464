"""`conversations` mode: one OpenAI Conversation per Slack conversation, kept until deleted.

OpenAI adds each turn's input and output to the conversation itself once the response completes,
so `keep` has nothing to write; a reset deletes the conversation, since it never expires.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import openai
from agents import ModelSettings
from openai import AsyncOpenAI

from bot.model.agent import TurnOutput
from bot.model.memory.base import InputItem, ModelMemory, RunPlan, is_missing_file
from bot.shared.conversation_key import ConversationKey

logger = logging.getLogger(__name__)

# https://platform.openai.com/docs/api-reference/conversations/create: "You may add up to 20 items at a time"
# (the same for POST /conversations/{id}/items).
ITEMS_PER_CALL = 20


class ConversationsMemory(ModelMemory):
    mode = "conversations"

    def __init__(self, client: AsyncOpenAI) -> None:
        self._client = client

    def model_settings(self, settings: ModelSettings) -> ModelSettings:
        return replace(settings, store=True)

    async def resume(self, key: ConversationKey, reference: str) -> RunPlan:
        return RunPlan(run_options={"conversation_id": reference}, reference=reference)

    async def seed(self, key: ConversationKey, earlier: list[InputItem]) -> RunPlan:
        conversation = await self._client.conversations.create(items=earlier[:ITEMS_PER_CALL])  # type: ignore[arg-type]
        try:
            for start in range(ITEMS_PER_CALL, len(earlier), ITEMS_PER_CALL):
                chunk = earlier[start : start + ITEMS_PER_CALL]
                await self._client.conversations.items.create(conversation.id, items=chunk)  # type: ignore[arg-type]
        except BaseException:
            await self.forget(key, conversation.id)  # half a history is worse than none: try again next turn
            raise
        return RunPlan(run_options={"conversation_id": conversation.id}, reference=conversation.id, fresh=True)

    async def keep(self, key: ConversationKey, plan: RunPlan, output: TurnOutput) -> str:
        return plan.reference

    async def forget(self, key: ConversationKey, reference: str) -> None:
        try:
            await self._client.conversations.delete(reference)
        except openai.NotFoundError:
            pass
        except openai.OpenAIError as error:
            logger.warning("Could not delete the OpenAI conversation of %s (%s)", key, type(error).__name__)

    def is_gone(self, error: BaseException) -> bool:
        if not isinstance(error, openai.APIStatusError) or error.status_code not in (400, 404):
            return False
        if getattr(error, "code", None) == "model_not_found":
            return False
        if is_missing_file(error):
            return True
        message = str(getattr(error, "message", "") or error).lower()
        return getattr(error, "param", None) == "conversation" or "conversation" in message
