"""The core services through the real bootstrap, on in-memory fakes of our own ports."""
