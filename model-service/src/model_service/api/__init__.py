"""The HTTP layer: request/response schemas, dependencies, errors and routes."""
