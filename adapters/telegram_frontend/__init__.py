"""The Telegram frontend (python-telegram-bot 22): translation, ordering, the outbound limiter."""
