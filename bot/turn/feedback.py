"""Feedback on answers: a click on the thumbs under an answer is stored (last value wins), counted and logged;
a thumbs-down opens an optional "what went wrong?" form."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.shared.metrics import record_feedback
from bot.slack.approval_blocks import FEEDBACK_INPUT_ACTION, FEEDBACK_INPUT_BLOCK, feedback_form
from bot.state.feedback import VOTES, FeedbackStore, FeedbackTallies
from bot.state.redis_link import RedisUnavailable

logger = logging.getLogger(__name__)

MAX_COMMENT_CHARS = 2000


@dataclass(frozen=True)
class Vote:
    """One click on an answer's feedback buttons, read from the `block_actions` payload."""

    team_id: str
    channel_id: str
    message_ts: str
    user_id: str
    vote: str  # "good" or "bad"
    model: str
    response_id: str


def vote_from_action(team_id: str, body: dict[str, Any], action: dict[str, Any]) -> Vote | None:
    """None for a payload that is not a vote on one of the bot's answers."""
    try:
        value = json.loads(action.get("value") or "")
    except ValueError:
        return None
    channel_id = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    message_ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get("message_ts") or ""
    user_id = (body.get("user") or {}).get("id") or ""
    if not isinstance(value, dict) or value.get("vote") not in VOTES or not (channel_id and message_ts and user_id):
        return None
    return Vote(
        team_id=team_id,
        channel_id=channel_id,
        message_ts=message_ts,
        user_id=user_id,
        vote=value["vote"],
        model=str(value.get("model") or ""),
        response_id=str(value.get("response") or ""),
    )


class AnswerFeedback:
    def __init__(self, client: AsyncWebClient, store: FeedbackStore) -> None:
        self._client = client
        self._store = store

    async def record(self, vote: Vote, *, trigger_id: str = "") -> None:
        try:
            previous = await self._store.vote(
                team_id=vote.team_id,
                channel_id=vote.channel_id,
                message_ts=vote.message_ts,
                user_id=vote.user_id,
                vote=vote.vote,
                model=vote.model,
            )
        except RedisUnavailable:
            logger.warning("Feedback on %s/%s not stored: Redis is unreachable", vote.channel_id, vote.message_ts)
            return
        record_feedback("up" if vote.vote == "good" else "down")
        logger.info(
            "Feedback %s (was %s) on response %s in %s/%s by %s, model %s",
            vote.vote,
            previous or "none",
            vote.response_id or "-",
            vote.team_id,
            vote.channel_id,
            vote.user_id,
            vote.model or "-",
        )
        if vote.vote == "bad" and previous != "bad" and trigger_id:
            await self._ask_what_went_wrong(vote, trigger_id)

    async def _ask_what_went_wrong(self, vote: Vote, trigger_id: str) -> None:
        metadata = json.dumps({"team": vote.team_id, "channel": vote.channel_id, "ts": vote.message_ts})
        try:
            await self._client.views_open(trigger_id=trigger_id, view=feedback_form(private_metadata=metadata))
        except SlackApiError as error:  # the trigger lasts 3 seconds; the vote is kept anyway
            logger.info("Could not open the feedback form: %s", error.response.get("error"))

    async def comment(self, user_id: str, view: dict[str, Any]) -> None:
        """The form's text, stored with the vote (never logged)."""
        try:
            where = json.loads(view.get("private_metadata") or "")
        except ValueError:
            return
        values = (view.get("state") or {}).get("values") or {}
        text = ((values.get(FEEDBACK_INPUT_BLOCK) or {}).get(FEEDBACK_INPUT_ACTION) or {}).get("value") or ""
        if not isinstance(where, dict) or not text.strip():
            return
        try:
            await self._store.comment(
                team_id=str(where.get("team") or ""),
                channel_id=str(where.get("channel") or ""),
                message_ts=str(where.get("ts") or ""),
                user_id=user_id,
                text=text.strip()[:MAX_COMMENT_CHARS],
            )
        except RedisUnavailable:
            logger.warning("A feedback comment was not stored: Redis is unreachable")
            return
        logger.info("Feedback comment (%d characters) on %s by %s", len(text), where.get("ts"), user_id)

    async def votes(self, team_id: str, channel_id: str, message_ts: str) -> dict[str, str]:
        """Each person's current vote on one answer (user id -> "good" or "bad")."""
        return await self._store.votes(team_id, channel_id, message_ts)

    async def comment_of(self, team_id: str, channel_id: str, message_ts: str, user_id: str) -> str:
        return await self._store.comment_of(team_id, channel_id, message_ts, user_id)

    async def tallies(self, team_id: str) -> FeedbackTallies:
        """Current thumbs up and down in a workspace, overall, per channel and per model (the usage view)."""
        return await self._store.tallies(team_id)
