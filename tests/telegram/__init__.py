"""The Telegram frontend in-process: the real PTB Application on a recording request layer."""
