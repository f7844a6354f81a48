"""Language models and embedders over the OpenAI-compatible HTTP API (OpenAI, Ollama, vLLM …)."""
