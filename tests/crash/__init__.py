"""Fault injection for the purchase saga: crashes at every step boundary, then recovery.

``faults`` wraps the chain, the payment rail, the notifier and the unit of work so that one
chosen boundary crashes (a raised :class:`~tests.crash.faults.SimulatedCrash`, or ``os._exit``
like ``kill -9``); ``invariants`` checks what must hold after recovery.
"""
