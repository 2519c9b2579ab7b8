"""Configuration, model registry, metrics and logging: everything below the HTTP layer."""
