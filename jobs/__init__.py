"""Timed work: APScheduler only ticks; what is due lives in our own tables."""
