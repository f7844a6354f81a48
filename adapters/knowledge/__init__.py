"""Creators' knowledge: the LanceDB store of their chunks and the reader of the files they send."""
