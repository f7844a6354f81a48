"""one-bot: the chat frontend of the ONE creator platform (composition, settings, conversation)."""
