"""Implementations of the core's ports by technology, and the chat frontends."""
