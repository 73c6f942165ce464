"""One model run written into Slack, then the conversation's memory: the part of a turn that new turns and turns
resumed after an approval share. A run that reaches a tool call needing approval pauses the turn instead."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.agent import TurnContext, TurnOutput
from bot.model.errors import failure_phrase
from bot.model.memory import ModelMemory, RunPlan
from bot.model.note_tools import said_changes
from bot.model.notes_input import TurnNotes
from bot.model.tool_progress import ToolProgress, sources_markdown
from bot.model.tools import AgentTools
from bot.model.usage import budget_day
from bot.shared import phrases
from bot.slack.answer_writing import AnswerWriting
from bot.slack.approval_blocks import feedback_blocks
from bot.slack.reply import Reply
from bot.slack.status import StatusCue
from bot.state.memory import Memory, Turn
from bot.state.thread_state import Recall, ThreadState
from bot.turn.accounting import account_for_answer, account_for_failure
from bot.turn.approval_flow import ApprovalFlow
from bot.turn.history import HistoryUnavailable
from bot.turn.model_run import RunSetup, describe_error, model_name
from bot.turn.routing import IncomingMessage

logger = logging.getLogger(__name__)

Run = Callable[[RunSetup], Awaitable[tuple[RunPlan, TurnOutput]]]


class Answering:
    def __init__(
        self,
        *,
        client: AsyncWebClient,
        memory: Memory,
        model_memory: ModelMemory,
        agents: AgentTools,
        approvals: ApprovalFlow,
        instant_answer_seconds: float,
        turn_timeout_seconds: float,
    ) -> None:
        self._client = client
        self._memory = memory
        self._model_memory = model_memory
        self._agents = agents
        self.approvals = approvals
        self._writing = AnswerWriting.for_client(client)  # shared by every answer: streaming verdicts, budgets
        self._instant = instant_answer_seconds
        self._timeout = turn_timeout_seconds

    async def run_and_reply(
        self,
        message: IncomingMessage,
        turn: Turn,
        recall: Recall,
        context: TurnContext,
        run: Run,
        *,
        notes: TurnNotes | None = None,
        remember: bool = True,
        resumed: bool = False,
    ) -> None:
        """The model run written into Slack, then memory; a run that waits for approval pauses the turn."""
        key = message.key
        day = budget_day(message.ts)
        reply = self.reply_for(message)
        cue = StatusCue(
            self._client,
            channel=key.channel_id,
            thread_ts=message.reply_thread_ts,
            message_ts=message.ts,
            delay=self._instant,
        )
        progress = ToolProgress(
            conversation=str(key),
            show_tasks=reply.show_tasks,
            show_line=cue.show_line,
            server_of=self._agents.mcp.server_of,
        )
        started = time.monotonic()
        cue.start()  # just before the try whose finally clears it
        try:
            async with asyncio.timeout(self._timeout):
                agent = await self._agents.for_channel(key.channel_id)
                plan, output = await run(RunSetup(agent, context, reply, progress, status=cue.show_line, notes=notes))
            if output.paused is not None:
                sent = notes.sent if notes else None
                await self.approvals.pause(message, turn, recall, context, plan, output, reply, notes_sent=sent)
                return
            await progress.cite(output.sources)
            feedback = feedback_blocks(model=model_name(agent), response_id=output.response_id)
            said = said_changes(context.notes)  # what the notes tools changed, in the bot's words
            await reply.finish(output.text + sources_markdown(output.sources) + said, closing_blocks=feedback)
        except SlackApiError as error:
            logger.error(
                "Could not post the answer in %s: %s; the conversation was not advanced",
                key,
                error.response.get("error"),
            )
            account_for_failure(None)  # Slack's refusal is counted by method in the metrics already
            await self._memory.usage.count_failure(key.team_id, day)
            return
        except Exception as error:
            logger.warning("Turn failed in %s: %s", key, describe_error(error))
            account_for_failure(describe_error(error))
            await self._memory.usage.count_failure(key.team_id, day)
            await reply.fail(phrases.NO_HISTORY if isinstance(error, HistoryUnavailable) else failure_phrase(error))
            await turn.finish(None)  # the memory stays as it was; the next message here is still answered
            return
        except asyncio.CancelledError:
            # Shutting down and this turn ran out of time: say so rather than leave the question hanging.
            await reply.fail(phrases.RESTARTING)
            raise
        finally:
            await cue.clear(replied=bool(reply.posted))
        count = account_for_answer(
            message,
            output,
            model=model_name(agent),
            seconds=time.monotonic() - started,
            first_shown_at=reply.posted.first_at,
            timed=not resumed,
        )
        if remember:
            # Without notes this turn (memory off), the conversation keeps what it had been sent.
            notes_sent = notes.sent if notes else (recall.state.notes_sent if recall.state else "")
            await self._remember(message, turn, recall, plan, output, notes_sent)
        else:
            await turn.finish(None)
        # Spent whether or not the memory keeps the answer (a thread reset while an approval waited).
        await self._memory.usage.record(key, day=day, turn=count, counters=output.usage.counters())

    def reply_for(self, message: IncomingMessage) -> Reply:
        key = message.key
        return Reply(
            self._writing,
            channel=key.channel_id,
            thread_ts=message.reply_thread_ts,
            team_id=key.team_id,
            recipient_team_id=message.user_team_id or key.team_id,
            user_id=message.user_id,
            stream_after=self._instant,
        )

    async def _remember(
        self,
        message: IncomingMessage,
        turn: Turn,
        recall: Recall,
        plan: RunPlan,
        output: TurnOutput,
        notes_sent: str,
    ) -> None:
        """Advance the conversation's memory to this answer (if still current)."""
        key = message.key
        state = ThreadState(
            response_id=await self._model_memory.keep(key, plan, output),
            stored_at=time.time(),
            anchor_ts=message.ts,
            reset_ts=recall.state.reset_ts if recall.state else "",
            memory_mode=self._model_memory.mode,
            notes_sent=notes_sent,
        )
        await turn.finish(state)
