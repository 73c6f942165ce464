"""Plain values every room shares: the conversation key, the bot's own phrases, quoted Slack material, and the
Prometheus metrics every room records into.

The bottom layer: imports nothing from `bot`.
"""
