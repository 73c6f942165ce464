"""Tool calls that wait for a person: the request in the thread, who may decide it, the decision, and expiry.

The turn that reaches such a call ends there (`pause`): its run's state goes to Redis, the conversation's lock is
let go and its memory is left as it was. A message arriving while the request is open is told so and not answered
(`tell_if_waiting`): answering it from the memory before the paused turn would split the conversation in two.
A click on Approve or Reject (`decide`), in any process, claims the request once; the caller then resumes the run
as a turn of its own, in order with the conversation. Requests nobody decides expire (`sweep`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.model.agent import TurnContext, TurnOutput
from bot.model.memory import RunPlan
from bot.model.tools import AgentTools
from bot.shared import phrases
from bot.shared.conversation_key import ConversationKey
from bot.slack.approval_blocks import decided_blocks, request_blocks, tools_phrase, who_decides
from bot.slack.posting import NOTICE_EVENT, post_notice
from bot.slack.reply import Reply
from bot.slack.user_groups import UserGroups
from bot.state.approvals import ApprovalStore, PendingApproval, new_approval_id
from bot.state.memory import Turn
from bot.state.redis_link import RedisUnavailable
from bot.state.thread_state import Recall
from bot.turn.routing import IncomingMessage

logger = logging.getLogger(__name__)

Tell = Callable[[str], Awaitable[None]]  # an ephemeral line to the person who clicked


def memory_mark(recall: Recall) -> str:
    """What must not change while a request waits for the resumed turn to be remembered: the reference and resets."""
    state = recall.state
    return "|".join((state.response_id if state else "", state.reset_ts if state else "", recall.channel_reset_ts))


def waiting_task(call_id: str, tool: str) -> dict[str, Any]:
    """The call's line in the streamed progress, while it waits (a task_update chunk, status `pending`)."""
    return {
        "type": "task_update",
        "id": call_id,
        "title": phrases.WAITING_FOR_APPROVAL.format(tool=tool),
        "status": "pending",
    }


def message_to_json(message: IncomingMessage) -> dict[str, Any]:
    data = dataclasses.asdict(message)
    data["files"] = [dict(f) for f in message.files]
    return data


def message_from_json(data: dict[str, Any]) -> IncomingMessage:
    values = dict(data)
    values["key"] = ConversationKey(**values["key"])
    values["files"] = tuple(values.get("files") or ())
    return IncomingMessage(**values)


class ApprovalFlow:
    def __init__(
        self, *, client: AsyncWebClient, store: ApprovalStore, agents: AgentTools, groups: UserGroups | None = None
    ) -> None:
        self._client = client
        self._store = store
        self._groups = groups  # members of the user groups named as approvers
        self._agents = agents
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self._agents.config.has_approvals

    # The turn reaches a call that needs approval -----------------------------------------------------------
    async def pause(
        self,
        message: IncomingMessage,
        turn: Turn,
        recall: Recall,
        context: TurnContext,
        plan: RunPlan,
        output: TurnOutput,
        reply: Reply,
        *,
        notes_sent: str | None = None,
    ) -> None:
        """Show the request with its buttons, keep the run in Redis, and let the conversation go. `notes_sent`:
        what the paused run's input gave of the long-term notes (the resumed turn's memory keeps it)."""
        assert output.paused is not None
        key = message.key
        calls = [dataclasses.asdict(call) for call in output.paused.calls]
        approvers = sorted(
            {a for c in output.paused.calls for a in self._agents.approvers(key.channel_id, c.server, c.tool)}
        )
        if reply.posted:  # a stream showing the tools: the waiting calls show as pending there
            await reply.show_tasks([waiting_task(call.call_id, call.tool) for call in output.paused.calls])
        if reply.posted or output.text:
            await reply.finish(output.text)  # what the model said before the call stays, without feedback buttons
        pending = PendingApproval(
            id=new_approval_id(),
            team_id=key.team_id,
            channel_id=key.channel_id,
            thread_ts=key.thread_ts,
            message=message_to_json(message),
            context=context.to_json(),
            state=output.paused.state,
            calls=calls,
            plan=dataclasses.asdict(plan),
            how=output.how,
            recall_raw=memory_mark(recall),
            asker=message.user_id,
            approvers=approvers,
            expires_at=time.time() + self._store.ttl_seconds,
            text_before=output.text,
            extra={} if notes_sent is None else {"notes_sent": notes_sent},
        )
        blocks = request_blocks(
            approval_id=pending.id,
            asker=message.user_id,
            calls=calls,
            who=who_decides(message.user_id, approvers),
            expires_at=pending.expires_at,
        )
        posted = await self._client.chat_postMessage(
            channel=key.channel_id,
            thread_ts=message.reply_thread_ts,
            text=phrases.APPROVAL_REQUEST.format(asker=message.user_id, tools=tools_phrase(calls)),
            blocks=blocks,
            metadata={"event_type": NOTICE_EVENT, "event_payload": {}},
        )
        pending = dataclasses.replace(pending, request_ts=str(posted["ts"]))
        try:
            await self._store.save(pending)
        except RedisUnavailable:
            await self._edit(pending, phrases.APPROVAL_UNAVAILABLE.format(tools=tools_phrase(calls)), blocks)
            await turn.finish(None)
            return
        await turn.finish(None)  # the memory stays where it was until the resumed turn completes
        logger.info("Tool call(s) %s in %s wait for approval %s", ", ".join(c["tool"] for c in calls), key, pending.id)

    async def tell_if_waiting(self, message: IncomingMessage, turn: Turn) -> bool:
        """A message in a conversation whose request is open: say so (it is not answered)."""
        if not self.enabled:
            return False
        try:
            approval_id = await self._store.waiting_in(message.key)
            pending = await self._store.peek(message.key.team_id, approval_id) if approval_id else None
        except RedisUnavailable:
            return False
        if pending is None:
            return False
        await turn.finish(None)
        text = phrases.APPROVAL_PENDING.format(tools=tools_phrase(pending.calls))
        await post_notice(self._client, message.key.channel_id, message.reply_thread_ts, text)
        return True

    # A click --------------------------------------------------------------------------------------------------
    async def decide(
        self, team_id: str, approval_id: str, *, user_id: str, approve: bool, tell: Tell
    ) -> PendingApproval | None:
        """Claim the request for `user_id`'s decision; the claimed request (to resume), or None (told why)."""
        try:
            pending = await self._store.peek(team_id, approval_id)
            if pending is None:
                outcome = await self._store.outcome(team_id, approval_id)
                await tell(phrases.APPROVAL_ALREADY.format(outcome=outcome) if outcome else phrases.APPROVAL_GONE)
                return None
            if not await self._may_decide(pending, user_id):
                await tell(phrases.APPROVAL_NOT_YOURS.format(who=who_decides(pending.asker, pending.approvers)))
                return None
            tools = tools_phrase(pending.calls)
            expired = time.time() > pending.expires_at
            outcome = (
                phrases.APPROVAL_EXPIRED.format(tools=tools)
                if expired
                else (phrases.APPROVAL_APPROVED if approve else phrases.APPROVAL_REJECTED).format(
                    user=user_id, tools=tools
                )
            )
            claimed = await self._store.claim(team_id, approval_id, outcome)
        except RedisUnavailable:
            await tell(phrases.APPROVAL_UNREACHABLE)
            return None
        if claimed is None:  # another click won
            return None
        await self._edit(claimed, outcome)
        if expired:
            with contextlib.suppress(RedisUnavailable):
                await self._store.done_waiting(claimed)
            return None
        logger.info(
            "Approval %s in %s: %s by %s", approval_id, claimed.key, "approved" if approve else "rejected", user_id
        )
        return claimed

    def teller(self, channel_id: str, user_id: str, thread_ts: str | None) -> Tell:
        """A line only `user_id` sees, in the thread of the request they clicked."""

        async def tell(text: str) -> None:
            try:
                await self._client.chat_postEphemeral(channel=channel_id, user=user_id, thread_ts=thread_ts, text=text)
            except SlackApiError as error:
                logger.warning("Could not tell %s about approval: %s", user_id, error.response.get("error"))

        return tell

    async def done_waiting(self, pending: PendingApproval) -> None:
        with contextlib.suppress(RedisUnavailable):
            await self._store.done_waiting(pending)

    async def _may_decide(self, pending: PendingApproval, user_id: str) -> bool:
        if not pending.approvers:
            return user_id == pending.asker
        if user_id in pending.approvers:
            return True
        groups = frozenset(a for a in pending.approvers if a.startswith("S"))
        if groups and self._groups is not None:  # a group Slack will not list counts as empty: closed
            return user_id in await self._groups.members(pending.team_id, groups)
        return False

    # Expiry ---------------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.enabled and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sweeper
            self._sweeper = None

    async def sweep(self) -> int:
        """Mark every request past its time expired (once, whichever process gets there first)."""
        marked = 0
        for team_id, approval_id in await self._store.expired():
            peeked = await self._store.peek(team_id, approval_id)
            tools = tools_phrase(peeked.calls) if peeked else "the tool"
            pending = await self._store.claim(team_id, approval_id, phrases.APPROVAL_EXPIRED.format(tools=tools))
            if pending is None:
                continue
            marked += 1
            await self._store.done_waiting(pending)
            await self._edit(pending, phrases.APPROVAL_EXPIRED.format(tools=tools))
            logger.info("Approval %s in %s expired", approval_id, pending.key)
        return marked

    async def _sweep_forever(self) -> None:
        interval = min(30.0, max(0.2, self._store.ttl_seconds / 10))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except RedisUnavailable:
                continue
            except Exception:
                logger.exception("Sweeping expired approval requests failed")

    async def _edit(self, pending: PendingApproval, outcome: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """The request's buttons give way to what became of it."""
        if not pending.request_ts:
            return
        request = blocks or request_blocks(
            approval_id=pending.id,
            asker=pending.asker,
            calls=pending.calls,
            who=who_decides(pending.asker, pending.approvers),
            expires_at=pending.expires_at,
        )
        try:
            await self._client.chat_update(
                channel=pending.channel_id, ts=pending.request_ts, text=outcome, blocks=decided_blocks(request, outcome)
            )
        except SlackApiError as error:
            logger.warning("Could not update approval request %s: %s", pending.id, error.response.get("error"))
