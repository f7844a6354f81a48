"""The local OpenAI-compatible server as the ``llm_server`` fixture."""

from tests.llm_server import llm_server  # noqa: F401 — a fixture for the tests here
