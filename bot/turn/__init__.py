"""The turn itself: which messages are answered and in which conversation (`routing`), the steps of one turn
(`conversation`), and rebuilding a conversation from Slack history (`history`).

May import `bot.slack`, `bot.model`, `bot.state` and `bot.shared`; only `bot.listeners` and `bot.running` import it.
"""
