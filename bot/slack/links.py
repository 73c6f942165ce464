"""Links to Slack messages in a message's text, and whether the bot may read one into this place (pure)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from bot.slack.channels import ChannelFacts

MAX_LINKS = 3  # links read per message; more are named as not read
# https://<workspace>.slack.com/archives/<channel>/p<ts without its dot>[?thread_ts=<ts>&cid=<channel>]
_LINK = re.compile(
    r"https://(?P<host>[a-z0-9.-]+\.slack\.com)/archives/(?P<channel>[CGD][A-Z0-9]{2,})/p(?P<ts>\d{16})"
    r"(?:\?(?P<query>[^\s|>]*))?"
)


@dataclass(frozen=True)
class SlackLink:
    url: str
    host: str  # e.g. acme.slack.com, for permalinks of the thread's replies
    channel_id: str
    ts: str  # the linked message
    thread_ts: str  # its thread's root ("" when the message is a root)

    @property
    def root_ts(self) -> str:
        return self.thread_ts or self.ts

    def permalink(self, ts: str) -> str:
        link = f"https://{self.host}/archives/{self.channel_id}/p{ts.replace('.', '')}"
        if ts != self.root_ts:
            link += f"?thread_ts={self.root_ts}&cid={self.channel_id}"
        return link


def slack_links(text: str) -> list[SlackLink]:
    """Message links in `text` (Slack sends them as `<url>` or `<url|label>`), each once, in order."""
    found: dict[tuple[str, str], SlackLink] = {}
    for match in _LINK.finditer(html.unescape(text)):
        digits = match.group("ts")
        ts = f"{digits[:10]}.{digits[10:]}"
        query = parse_qs(match.group("query") or "")
        thread_ts = (query.get("thread_ts") or [""])[0]
        link = SlackLink(
            url=match.group(0),
            host=match.group("host"),
            channel_id=match.group("channel"),
            ts=ts,
            thread_ts=thread_ts if thread_ts != ts else "",
        )
        found.setdefault((link.channel_id, link.ts), link)
    return list(found.values())


def why_unreadable(channel_id: str, facts: ChannelFacts | None, *, readable_channels: frozenset[str]) -> str:
    """Empty when a message of `channel_id` may be shown here; else the reason, for the model to pass on.

    Readable: a message of a channel whose people are already here (the current channel, or the one a person
    brought to a place only they see), or of a public channel the bot is in. Anything else could show a
    conversation to people outside it."""
    if channel_id in readable_channels:
        return ""
    if facts is None:
        # channel_not_found for a private channel the bot is not in; missing_scope (no groups:read) for one it is in
        return "it is in a private conversation (Slack will not describe it to the bot), so it cannot be shown here"
    if facts.kind != "public_channel":
        return "it is in a private conversation, and quoting it here could show it to people outside it"
    if not facts.is_member:
        return f"the bot is not a member of #{facts.name or channel_id}; invite it there to let it read it"
    return ""
