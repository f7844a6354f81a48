"""Timed work driven by APScheduler (journeys, outbox, settlement) — arrives with later issues."""
