"""`responses` mode: OpenAI stores every response; a turn chains from the last one's id."""

from __future__ import annotations

from dataclasses import replace

import openai
from agents import ModelSettings

from bot.model.agent import TurnOutput
from bot.model.memory.base import InputItem, ModelMemory, RunPlan, is_missing_file
from bot.shared.conversation_key import ConversationKey


class ResponsesMemory(ModelMemory):
    mode = "responses"

    def __init__(self, *, retention_seconds: float) -> None:
        self.retention_seconds = retention_seconds

    def model_settings(self, settings: ModelSettings) -> ModelSettings:
        return replace(settings, store=True)

    async def resume(self, key: ConversationKey, reference: str) -> RunPlan:
        return RunPlan(run_options={"previous_response_id": reference}, reference=reference)

    async def seed(self, key: ConversationKey, earlier: list[InputItem]) -> RunPlan:
        return RunPlan(history=earlier, fresh=True)

    async def keep(self, key: ConversationKey, plan: RunPlan, output: TurnOutput) -> str:
        return output.response_id

    async def forget(self, key: ConversationKey, reference: str) -> None:
        """Nothing to do: an unchained response expires on its own at OpenAI."""

    def is_gone(self, error: BaseException) -> bool:
        return isinstance(error, openai.APIStatusError) and (is_expired_chain(error) or is_missing_file(error))


def is_expired_chain(error: openai.APIStatusError) -> bool:
    if error.status_code not in (400, 404):
        return False
    code = getattr(error, "code", None)
    param = getattr(error, "param", None)
    message = str(getattr(error, "message", "") or error).lower()
    return code == "previous_response_not_found" or (
        "previous_response_id" in message or param == "previous_response_id"
    )
