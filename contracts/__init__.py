"""Smart-contract sources and the script that compiles them into adapters/chain/ artifacts."""
