"""Socket.IO beside FastAPI: streaming lookups, change events, cross-node delivery through Redis."""
