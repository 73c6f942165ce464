"""Every Prometheus metric the bot records, defined once (`GET /metrics` serves them; `bot.running.metrics`).

Every room records into these: the turn, Slack's client, Redis's guard, the tools. With several worker processes
`PROMETHEUS_MULTIPROC_DIR` is set before any of them imports this module, and prometheus_client then keeps each
process's values in a file of that folder, summed at scrape time (its multiprocess mode).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds from the message (Slack's ts) to the first text the person sees, and to the finished answer.
_LATENCY_BUCKETS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 34.0, 60.0, 120.0)
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

TURN_OUTCOMES = ("chained", "rebuilt", "new", "alone", "failed")

TURNS = Counter("slackbot_turns", "Answered turns by how their context was built, or failed", ["outcome"])
DECLINED = Counter(
    "slackbot_turns_declined",
    "Messages not sent to the model: access (channel, dms, person) or a budget (user, channel, workspace)",
    ["reason"],
)
FIRST_TEXT_SECONDS = Histogram(
    "slackbot_first_text_seconds", "From the message to the first visible text of its answer", buckets=_LATENCY_BUCKETS
)
ANSWER_SECONDS = Histogram(
    "slackbot_answer_seconds", "From the message to its finished answer", buckets=_LATENCY_BUCKETS
)
QUEUE_WAIT_SECONDS = Histogram(
    "slackbot_queue_wait_seconds", "Time a turn waited in its conversation's line", buckets=_WAIT_BUCKETS
)
TOKENS = Counter("slackbot_tokens", "Model tokens, by kind (input includes cached)", ["kind"])
MODEL_ERRORS = Counter("slackbot_model_errors", "Failed model runs, by error kind", ["kind"])
SLACK_RATE_LIMITED = Counter("slackbot_slack_rate_limited", "Slack Web API calls answered 429", ["method"])
SLACK_REFUSED = Counter("slackbot_slack_refused", "Slack Web API calls answered ok=false", ["method", "error"])
REDIS_OUTAGES = Counter("slackbot_redis_outages", "Times Redis stopped answering")
TOOL_CALLS = Counter(
    "slackbot_tool_calls", "Tool calls by server (web_search, or an MCP server) and result", ["server", "result"]
)
FEEDBACK = Counter("slackbot_feedback", "Feedback on answers (thumbs up or down)", ["value"])


def record_feedback(value: str) -> None:
    """The hook for feedback buttons (issue 18): `value` is "up" or "down"."""
    FEEDBACK.labels(value="up" if value == "up" else "down").inc()
