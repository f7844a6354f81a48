"""The bot's own web server: webhooks (Telegram now; payments later) and a health check."""
