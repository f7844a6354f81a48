"""The Discord frontend (discord.py 2): slash commands, buttons, DMs; translation only."""
