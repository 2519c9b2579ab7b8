"""The phishline command line."""

from phishline.cli import app, main

__all__ = ["app", "main"]
