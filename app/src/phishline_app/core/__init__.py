"""Settings, metrics and the security helpers shared by every route."""
