"""Clients of the services the app depends on."""
