"""The bot's own state in Redis: the connection and outage handling, the embedded server, the key names, a turn's
two moments (begin and finish), the outage replay, and what is remembered per conversation (`thread_state`).

The only room that builds a Redis key. May import `bot.shared` only.
"""
