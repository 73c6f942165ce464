"""Clicks on the bot's buttons (`block_actions`) and its form (`view_submission`): approval of tool calls and
feedback on answers. Each is acknowledged at once; the work happens after (Bolt runs the rest of the listener
once `ack()` has answered Slack)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.slack.approval_blocks import APPROVE_ACTION, FEEDBACK_ACTION, FEEDBACK_FORM, REJECT_ACTION
from bot.turn.conversation import Conversations
from bot.turn.feedback import AnswerFeedback, vote_from_action
from bot.turn.routing import workspace_of


def register(app: AsyncApp, conversations: Conversations, feedback: AnswerFeedback) -> None:
    async def on_decision(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        action = (body.get("actions") or [{}])[0]
        user_id = (body.get("user") or {}).get("id") or ""
        channel_id = (body.get("channel") or {}).get("id") or ""
        tell = conversations.approvals.teller(channel_id, user_id, (body.get("message") or {}).get("thread_ts"))
        await conversations.decide(
            workspace_of(context),
            str(action.get("value") or ""),
            user_id=user_id,
            approve=action.get("action_id") == APPROVE_ACTION,
            tell=tell,
        )

    async def on_feedback(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        vote = vote_from_action(workspace_of(context), body, action)
        if vote is not None:
            await feedback.record(vote, trigger_id=str(body.get("trigger_id") or ""))

    async def on_feedback_form(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()
        await feedback.comment((body.get("user") or {}).get("id") or "", view)

    app.action(APPROVE_ACTION)(on_decision)
    app.action(REJECT_ACTION)(on_decision)
    app.action(FEEDBACK_ACTION)(on_feedback)
    app.view_submission(FEEDBACK_FORM)(on_feedback_form)
