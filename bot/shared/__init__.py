"""Plain values every room shares: the conversation key and the bot's own phrases.

The bottom layer: imports nothing from `bot`.
"""
