"""Subcommand groups of `phishline`; each imports its component only when it runs."""
