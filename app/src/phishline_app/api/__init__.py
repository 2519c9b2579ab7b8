"""HTTP layer: routes, dependencies and JSON errors."""
