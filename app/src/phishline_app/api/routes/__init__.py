"""Route modules: the page, the JSON API, health probes and metrics."""
