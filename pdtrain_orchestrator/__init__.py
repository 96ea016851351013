"""Reference orchestrator-api for pdtrain."""
