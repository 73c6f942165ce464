"""Slack's side: the Web API client and its pacing, writing an answer (streaming, rendering Markdown, status),
people's names, the assistant pane, Slack's text markup, and files shared in Slack.

May import `bot.state` and `bot.shared`; never `bot.turn`, `bot.model`, `bot.listeners` or `bot.running`.
"""
