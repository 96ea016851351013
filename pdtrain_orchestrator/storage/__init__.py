"""Object stores of the orchestrator."""
