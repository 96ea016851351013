"""HTTP routers of the orchestrator-api, one module per resource."""
