"""The terminal frontend: the same conversation, typed line by line."""
