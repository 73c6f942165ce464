"""One turn of a conversation: begin (claim, recall, queue) → continued or rebuilt run → reply → finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.agent import PausedRun, TurnContext, TurnOutput
from bot.model.memory import ModelMemory, RunPlan
from bot.model.options import ModelOptions
from bot.model.tools import AgentTools
from bot.model.usage import DailyBudgets, budget_day, budget_note, exceeded_budget
from bot.shared import metrics, phrases
from bot.shared.conversation_key import ConversationKey
from bot.slack.assistant_pane import set_thread_title, thread_title
from bot.slack.channels import ChannelLookup
from bot.slack.files import FileReader
from bot.slack.people import People
from bot.slack.posting import post_notice
from bot.slack.text import mentioned_user_ids
from bot.slack.workspace_search import WorkspaceSearch, channel_types_for_place
from bot.state.approvals import PendingApproval
from bot.state.memory import Memory, Turn
from bot.state.thread_state import Recall, now_ts
from bot.turn import participation
from bot.turn.access import ALLOWED, NOTES, AccessGate
from bot.turn.answering import Answering
from bot.turn.approval_flow import ApprovalFlow, Tell, memory_mark, message_from_json
from bot.turn.history import (
    RESET_EVENT,
    BotIdentity,
)
from bot.turn.model_run import ModelRun, RunSetup
from bot.turn.notes_step import NotesStore, notes_for_turn
from bot.turn.routing import IncomingMessage, is_empty_mention, is_reset_request

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnLimits:
    history_budget_chars: int
    turn_timeout_seconds: float
    instant_answer_seconds: float  # an answer complete sooner is posted in one message, with no status shown
    thread_memory_seconds: float  # how long after its last answer the bot follows a thread without a mention
    # Tokens per UTC day per person, channel and workspace; 0: unlimited.
    budgets: DailyBudgets = field(default_factory=DailyBudgets)


class Conversations:
    """Turns Slack messages into answers; the listeners hand every message they accept to `handle`."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        memory: Memory,
        people: People,
        agents: AgentTools,
        model_memory: ModelMemory,
        bot: BotIdentity,
        limits: TurnLimits,
        files: FileReader,
        approvals: ApprovalFlow,
        options: ModelOptions | None = None,
        access: AccessGate | None = None,
        notes: NotesStore | None = None,  # long-term notes; None: LONG_TERM_MEMORY is off
    ) -> None:
        self._client = client
        self._access = access
        self._notes = notes
        self._files = files
        self._memory = memory
        self._model_memory = model_memory
        self._people = people
        self._agents = agents
        self.bot = bot
        self._limits = limits
        self._model_run = ModelRun(
            client=client,
            files=files,
            people=people,
            agents=agents,
            model_memory=model_memory,
            options=options or ModelOptions(compact_threshold_tokens=0),
            bot=bot,
            history_budget_chars=limits.history_budget_chars,
        )
        self._in_flight: set[asyncio.Task[Any]] = set()
        self.approvals = approvals
        self._answering = Answering(
            client=client,
            memory=memory,
            model_memory=model_memory,
            agents=agents,
            approvals=approvals,
            instant_answer_seconds=limits.instant_answer_seconds,
            turn_timeout_seconds=limits.turn_timeout_seconds,
        )

    @property
    def client(self) -> AsyncWebClient:
        """The bot's own Slack client (Bolt's per-request copy adds arguments some methods do not take)."""
        return self._client

    @property
    def dms_open(self) -> bool:
        """Whether the access rules open direct messages and the assistant pane."""
        return self._access is None or self._access.dms_open

    @property
    def in_flight(self) -> int:
        """Messages being handled right now (answered, waiting their turn, or being remembered)."""
        return len(self._in_flight)

    # Entry points -------------------------------------------------------------------------------
    async def handle(self, message: IncomingMessage) -> None:
        """Answer `message` once, whatever Slack redelivers, in order with its conversation."""
        await self._tracked(self._handle(message), f"message {message.ts} in {message.key}")

    async def decide(self, team_id: str, approval_id: str, *, user_id: str, approve: bool, tell: Tell) -> None:
        """A click on Approve or Reject: once per request, whichever process gets it; the turn then goes on."""

        async def decide() -> None:
            pending = await self.approvals.decide(team_id, approval_id, user_id=user_id, approve=approve, tell=tell)
            if pending is not None:
                await self._resume(pending, approved=approve)

        await self._tracked(decide(), f"approval {approval_id}")

    async def _tracked(self, work: Awaitable[None], what: str) -> None:
        """Run `work` counted as in flight (shutdown lets it finish); a failure is logged, never raised."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await work
        except Exception:
            logger.exception("Could not handle %s", what)
        finally:
            if task is not None:
                self._in_flight.discard(task)

    async def _resume(self, pending: PendingApproval, *, approved: bool) -> None:
        """The paused turn, as a turn of its own in the conversation's line (placed by the request's ts, so it
        goes before any message sent after the request); not remembered if the thread was reset meanwhile."""
        message = message_from_json(pending.message)
        turn = await self._memory.begin_turn(
            message.key, pending.request_ts, requires_part=False, joins=False, answers=True
        )

        async def run(setup: RunSetup) -> tuple[RunPlan, TurnOutput]:
            output = await self._model_run.resume(message.key, PausedRun(pending.state, ()), setup, approved=approved)
            return RunPlan(**pending.plan), replace(output, how=pending.how)

        if turn is not None:
            async with turn.in_order() as recall:
                await self.approvals.done_waiting(pending)
                same, context = memory_mark(recall) == pending.recall_raw, TurnContext.from_json(pending.context)
                notes = None
                if self._notes is not None:  # the tools work on after the pause; the memory keeps what was sent
                    notes = notes_for_turn(self._notes, message, recall, context.people)
                    if "notes_sent" in pending.extra:
                        notes = notes.carrying(pending.extra["notes_sent"])
                    context = replace(context, notes=notes.scope)
                await self._answering.run_and_reply(
                    message, turn, recall, context, run, notes=notes, remember=same, resumed=True
                )

    async def refusal_for(self, team_id: str, channel_id: str, user_id: str) -> str | None:
        """What to tell someone the access rules keep out of this place (a reset uses the bot too); None: allowed."""
        if self._access is None:
            return None
        verdict = await self._access.verdict(team_id, channel_id, user_id, is_dm=channel_id.startswith("D"))
        return None if verdict == ALLOWED else NOTES[verdict]

    async def reset_channel(self, team_id: str, channel_id: str) -> None:
        """`/reset`: forget every conversation of a channel, or of a DM and all its threads."""
        await self._memory.forget_channel(team_id, channel_id, now_ts())

    async def reset_thread(self, key: ConversationKey, *, user_id: str) -> None:
        """The message shortcut: forget one thread, and leave a note in it saying so."""
        await self._forget_thread(key, now_ts())
        try:
            await post_reset_note(self._client, key, user_id=user_id)
        except SlackApiError as error:
            logger.warning("Could not leave a reset note in %s: %s", key, error.response.get("error"))

    async def drain(self, seconds: float) -> None:
        """Let in-flight turns finish (on shutdown); cancel what is left after `seconds`."""
        pending = {t for t in self._in_flight if t is not asyncio.current_task()}
        if not pending:
            return
        logger.info("Finishing %d turn(s) before stopping", len(pending))
        _done, still_running = await asyncio.wait(pending, timeout=seconds)
        for task in still_running:
            task.cancel()
        if still_running:
            await asyncio.wait(still_running, timeout=2)
            logger.warning("Abandoned %d turn(s) at shutdown; nothing of them was remembered", len(still_running))

    # The turn ------------------------------------------------------------------------------------
    async def _handle(self, message: IncomingMessage) -> None:
        key = message.key
        if self._access is not None and not await self._access.admits(message):
            return  # before anything is claimed or joined: outside the access rules the bot stays out
        resetting = is_reset_request(message.text, self.bot.user_id)
        empty = is_empty_mention(message.text, self.bot.user_id) and not message.files
        too_long = len(message.text) > self._limits.history_budget_chars
        turn = await self._memory.begin_turn(
            key,
            message.ts,
            requires_part=message.needs_participation,
            # A mention makes the bot part of the thread from now on: a follow-up sent while this turn runs
            # is answered too. A hint or a refusal keeps the next message there answered.
            joins=not resetting and (empty or too_long or (message.mentioned and not message.is_dm)),
            answers=not (resetting or empty or too_long),
            notes_of=message.user_id if self._notes else "",
        )
        if turn is None:
            return  # a repeat delivery
        try:
            await self._take_turn(message, turn, resetting=resetting, empty=empty, too_long=too_long)
        finally:
            await turn.leave()  # a no-op once the turn finished

    async def _take_turn(
        self, message: IncomingMessage, turn: Turn, *, resetting: bool, empty: bool, too_long: bool
    ) -> None:
        key = message.key
        prefetched: list[dict[str, Any]] | None = None
        if message.needs_participation and turn.recall.state is None:
            taking_part, prefetched = await participation.taking_part(
                message,
                turn.recall,
                client=self._client,
                memory=self._memory,
                bot=self.bot,
                thread_memory_seconds=self._limits.thread_memory_seconds,
            )
            if not taking_part:
                return
        if resetting:
            await self._forget_thread(key, message.ts)
            await self._confirm(message, phrases.RESET_THREAD)
            return
        if empty:
            hint = phrases.DM_HINT if message.is_dm else phrases.HINT.format(bot=self.bot.user_id)
            await post_notice(self._client, key.channel_id, message.reply_thread_ts, hint)
            return
        if too_long:
            text = phrases.MESSAGE_TOO_LONG.format(length=len(message.text), limit=self._limits.history_budget_chars)
            await post_notice(self._client, key.channel_id, message.reply_thread_ts, text)
            return
        answering = False
        try:
            async with turn.in_order() as recall:
                answering = True
                await self._answer(message, turn, recall, prefetched)
        except asyncio.CancelledError:
            if not answering:  # shutting down before this message's turn came: say so, don't leave it unanswered
                with contextlib.suppress(Exception):
                    await post_notice(self._client, key.channel_id, message.reply_thread_ts, phrases.RESTARTING)
            raise

    async def _forget_thread(self, key: ConversationKey, reset_ts: str) -> None:
        """Forget a thread for good: in Redis, and where the model's memory of it lives."""
        recall = await self._memory.recall(key)
        await self._memory.forget_thread(key, reset_ts)
        superseded = recall.superseded_reference(mode=self._model_memory.mode)
        if superseded:
            await self._model_memory.forget(key, superseded)

    async def _answer(
        self, message: IncomingMessage, turn: Turn, recall: Recall, prefetched: list[dict[str, Any]] | None
    ) -> None:
        """The steps of an answer: the budget, who speaks where, the model run written into Slack, then memory."""
        key = message.key
        day = budget_day(message.ts)
        over = await self._over_budget(message, day)
        if over is not None:
            # No model call: a short note, and the memory is left as it was.
            metrics.DECLINED.labels(reason=f"budget_{over}").inc()
            await turn.finish(None)
            await post_notice(self._client, key.channel_id, message.reply_thread_ts, budget_note(message.ts, over))
            return
        if await self.approvals.tell_if_waiting(message, turn):
            return
        mentioned = [u for u in mentioned_user_ids(message.text) if u != self.bot.user_id]
        speaker_names = await self._people.names(key.team_id, [message.user_id, *mentioned])
        notes = notes_for_turn(self._notes, message, recall, speaker_names) if self._notes else None
        context = TurnContext(
            speaker_id=message.user_id,
            speaker_name=speaker_names.get(message.user_id),
            place=describe_place(message, viewed_channel_id=recall.viewed_channel_id),
            people=speaker_names,
            notes=notes.scope if notes else None,
            action_token=message.action_token,
            workspace_search=self._workspace_search(message),
            channel_id=key.channel_id,
        )
        if message.is_assistant_thread and recall.state is None and recall.from_redis:
            await self._title_assistant_thread(message, speaker_names)  # the thread's first question names it

        async def run(setup: RunSetup) -> tuple[RunPlan, TurnOutput]:
            return await self._model_run.run(message, recall, setup, speaker_names, prefetched)

        await self._answering.run_and_reply(message, turn, recall, context, run, notes=notes)

    def _workspace_search(self, message: IncomingMessage) -> WorkspaceSearch | None:
        """Searching Slack as the asker, for this turn: where it is on and the event carried an action token."""
        if not message.action_token or not self._agents.slack_search_on(message.key.channel_id):
            return None
        return WorkspaceSearch(
            self._client,
            ChannelLookup(self._client),
            action_token=message.action_token,
            channel_types=channel_types_for_place(self._agents.granted_scopes, private_to_asker=message.is_dm),
        )

    async def _over_budget(self, message: IncomingMessage, day: str) -> str | None:
        """Which daily budget the message is over, if any (one Redis round trip, only with a budget set)."""
        budgets = self._limits.budgets
        if not budgets.any:
            return None
        key = message.key
        spent = await self._memory.usage.spent_today(
            key.team_id, day, user_id=message.user_id, channel_id=key.channel_id
        )
        return exceeded_budget(spent, budgets)

    async def _title_assistant_thread(self, message: IncomingMessage, speaker_names: dict[str, str]) -> None:
        question = message.text or " ".join(str(f.get("name") or "") for f in message.files)
        title = thread_title(question, bot_user_id=self.bot.user_id, names=speaker_names)
        await set_thread_title(self._client, message.key, title)

    async def _confirm(self, message: IncomingMessage, text: str) -> None:
        try:
            await self._client.chat_postEphemeral(
                channel=message.key.channel_id,
                user=message.user_id,
                thread_ts=message.reply_thread_ts,
                text=text,
            )
        except SlackApiError as error:
            logger.warning("Could not confirm a reset in %s: %s", message.key, error.response.get("error"))


async def post_reset_note(client: AsyncWebClient, key: ConversationKey, *, user_id: str) -> None:
    await client.chat_postMessage(
        channel=key.channel_id,
        thread_ts=key.thread_ts or None,
        text=phrases.RESET_THREAD_NOTE.format(user=user_id),
        metadata={"event_type": RESET_EVENT, "event_payload": {}},
    )


def describe_place(message: IncomingMessage, *, viewed_channel_id: str = "") -> str:
    beside = f" (the person has the channel <#{viewed_channel_id}> open beside it)" if viewed_channel_id else ""
    if message.is_assistant_thread:
        return "a chat in Slack's AI assistant pane" + beside
    if message.is_dm:
        return ("a direct message" if message.key.is_dm_running else "a thread of a direct message") + beside
    return f"a thread in the channel <#{message.key.channel_id}>"
