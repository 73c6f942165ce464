"""Messages read from elsewhere in Slack and shown to the model as quoted material (search results, links)."""

from __future__ import annotations

from dataclasses import dataclass

# The Real-time Search API's scope for public channels, the only channel type a bot token may search
# (docs.slack.dev/reference/methods/assistant.search.context, "Scopes").
SEARCH_SCOPE = "search:read.public"


@dataclass(frozen=True)
class QuotedMessage:
    channel_id: str
    channel_name: str  # without '#'; may be empty
    author: str  # a name when known, else the user id
    ts: str
    text: str
    permalink: str


@dataclass(frozen=True)
class SearchFound:
    """What one workspace search gave: the messages the place may see, or why there are none."""

    messages: tuple[QuotedMessage, ...] = ()
    problem: str = ""  # Slack's error code when the search failed
    left_out: int = 0  # results dropped because their channel may not be shown here
