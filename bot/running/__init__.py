"""Running the bot: settings from the environment, wiring the parts together (`app`), serving HTTP or Socket Mode,
worker processes, `doctor`, and logging.

The top layer: it may import every other room of `bot`. Nothing imports it but `bot.__main__`.
"""
