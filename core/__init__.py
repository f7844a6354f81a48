"""The ONE domain: entities, connections and events, and the services that act on them.

Nothing in this package knows a chat platform, a database driver or a vendor SDK; the outer
layers reach it through the ports in :mod:`core.ports`.
"""
