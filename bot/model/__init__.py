"""The model's side: the agent and its configuration, tools (web search, MCP) and their progress, per-conversation
model options, token usage, model input items, and the memory modes (`bot.model.memory`).

May import `bot.state` and `bot.shared`; never `bot.turn`, `bot.slack`, `bot.listeners` or `bot.running`.
"""
