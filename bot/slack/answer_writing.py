"""What every answer the process writes shares: the Slack clients, whether Slack streams in each workspace,
and each workspace's rate budget. One is held by the process; each `Reply` reads it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import without_rate_limit_retries
from bot.slack.pacing import Pacing

logger = logging.getLogger(__name__)

STREAMING_RETRY_SECONDS = 3600.0  # after Slack refuses streaming for the workspace, ask again this much later

# Refusals of chat.startStream that hold for every channel of the workspace (the token, the app or the plan);
# any other (not_in_channel, channel_type_not_supported, is_archived, a locked thread, a rate limit, a recipient
# Slack cannot find) is about one place or one moment, and only that answer goes without streaming.
WORKSPACE_REFUSALS = frozenset(
    {
        "not_allowed_token_type",
        "unknown_method",
        "method_deprecated",
        "feature_not_enabled",
        "missing_scope",
        "no_permission",
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "team_access_not_granted",
    }
)


@dataclass
class StreamingSupport:
    """Whether Slack accepted the streaming methods lately, per workspace (a cache: safe to lose)."""

    refused_until: dict[str, float] = field(default_factory=dict)

    def available(self, team_id: str) -> bool:
        return time.monotonic() >= self.refused_until.get(team_id, 0.0)

    def refused(self, team_id: str, error: str) -> None:
        """Slack refused to start a stream: for this answer only, or for the workspace if the error says so."""
        if error not in WORKSPACE_REFUSALS:
            logger.info("Slack refused chat.startStream here (%s): this answer is edited in place instead", error)
            return
        if self.available(team_id):
            logger.info("Slack refused chat.startStream (%s): editing messages instead for an hour", error)
        self.refused_until[team_id] = time.monotonic() + STREAMING_RETRY_SECONDS


@dataclass(frozen=True)
class AnswerWriting:
    """What every answer the process writes shares: Slack clients, streaming verdicts, rate budgets."""

    client: AsyncWebClient  # sleeps out a 429 and retries: for writes that must land (posts, closing a message)
    eager_client: AsyncWebClient  # gives up at a 429: for writes that can come later (a stream's next piece, an edit)
    streaming: StreamingSupport = field(default_factory=StreamingSupport)
    pacing: Pacing = field(default_factory=Pacing)

    @classmethod
    def for_client(cls, client: AsyncWebClient) -> AnswerWriting:
        return cls(client=client, eager_client=without_rate_limit_retries(client))
