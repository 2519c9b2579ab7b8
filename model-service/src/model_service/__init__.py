"""phishline model-service: FastAPI inference over verified lib-ml artifacts."""
