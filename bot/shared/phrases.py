"""Everything the bot says on its own (hints, notices, confirmations), in one voice."""

from __future__ import annotations

HINT = (
    "Hi! Ask me anything and I'll answer in a thread. Follow-ups in that thread need no @-mention, "
    "and I remember what we said there. To make me forget a thread, say <@{bot}> reset in it or use "
    "*Reset this thread* from a message's menu; `/reset` makes me forget every thread in the channel."
)
ASSISTANT_GREETING = (
    "Hi! Ask me anything. Follow-ups in this chat need nothing special: I remember what we said here. "
    "Say `reset` whenever you want a fresh start."
)
ASSISTANT_PROMPTS_TITLE = "Try one of these:"
ASSISTANT_PROMPTS = (
    ("Explain something", "Explain how DNS works, in a few short paragraphs."),
    ("Draft a message", "Help me write a friendly reminder about tomorrow's deadline."),
    ("Review some code", "Review this code and suggest improvements:"),
)
DM_HINT = "Hi! Just write your question here. Say `reset` (or type `/reset`) whenever you want a fresh start."

BUSY = "I'm getting too many requests right now. Please try again in a minute."
UNAVAILABLE = "I can't reach my language model right now. Please try again in a little while."
OUT_OF_QUOTA = (
    "I can't answer right now: my language model's account has used up its quota. Please let whoever runs me know."
)
SETUP_PROBLEM = (
    "I can't answer right now: my language model refused my credentials or settings. Please let whoever runs me know."
)
TOO_SLOW = "That took too long, so I stopped. Please try again, maybe with a shorter question."
TOO_LARGE = "That's more than I can take in at once. Could you shorten it or split it up?"
TOO_LARGE_EVEN_ALONE = (
    "Your message is more than my model can take in, even on its own. Could you shorten it or split it up?"
)
OVER_BUDGET = (
    "You've used your share of my answers for today, sorry. It resets at midnight UTC (in {wait}); "
    "I'll gladly pick this up then."
)
OVER_CHANNEL_BUDGET = (
    "This channel has used its share of my answers for today, sorry. It resets at midnight UTC (in {wait}); "
    "I'll gladly pick this up then."
)
OVER_WORKSPACE_BUDGET = (
    "This workspace has used its share of my answers for today, sorry. It resets at midnight UTC (in {wait}); "
    "I'll gladly pick this up then."
)
NOT_IN_THIS_CHANNEL = (
    "I don't answer in this channel, sorry. An admin of this workspace decides where I answer; "
    "you'll find me in the channels they've opened to me."
)
NO_DIRECT_MESSAGES = (
    "I don't take direct messages here, sorry. Mention me in one of the channels where I answer instead."
)
NOT_FOR_YOU = "Sorry, I'm not set up to answer you. An admin of this workspace can change that."
RESTARTING = "I'm restarting and couldn't finish this answer. Please ask again in a moment."
NO_HISTORY = (
    "I couldn't read this conversation from Slack just now, so I can't answer yet. Please try again in a minute."
)
FAILED = "Something went wrong on my side and I couldn't answer. Please try again."
MESSAGE_TOO_LONG = (
    "That message is too long for me ({length:,} characters; I can take {limit:,}). "
    "Could you shorten it or split it up?"
)
TOO_MANY_STEPS = (
    "I needed more steps than I'm allowed for this question, so I stopped. Could you ask something narrower?"
)
SEARCHING_WEB = "Searching the web…"
CALLING_TOOL = "Calling `{tool}`…"
SEARCHING_WEB_STATUS = "is searching the web…"
CALLING_TOOL_STATUS = "is calling {tool}…"
SOURCES = "Sources"
SEARCHING_SLACK = "Searching Slack…"
SEARCHING_SLACK_STATUS = "is searching Slack…"
WRITING_SUMMARY_STATUS = "is writing the summary…"
SUMMARY_NOTE = "Here is a summary of <{link}|this thread> in <#{channel}>, only for you. Ask me anything about it."
SUMMARY_REQUEST = (
    "Summarize this Slack thread for me: its key points, what was decided, what is still open, and who does what."
)
SUMMARY_NOT_A_THREAD = "There's no thread there for me to summarize."
SUMMARY_NO_DM = "I couldn't open a direct message with you to send the summary, sorry. Please try again."
STREAM_CUT = "_(My answer was cut off here. Please ask again if you need the rest.)_"

RESET_THREAD = "Done: I've forgotten this thread. What's said from now on starts fresh."
RESET_THREAD_NOTE = "<@{user}> cleared my memory of this thread. I'll start fresh from here."
RESET_DM = "Done: I've forgotten our conversation here, including every thread in this DM."
RESET_CHANNEL = "Done: I've forgotten every thread in this channel. New messages start fresh."
RESET_NOT_A_THREAD = "There's nothing for me to forget there."
