"""The A/B experiment of phishline (docs/experiment.md): do users prefer the verdict (v1) or
the probability (v2)? Planning its size, reading its data, deciding it, reporting it.

Pure standard-library statistics; the data sources and the plot import their libraries
(httpx, SQLAlchemy, matplotlib) only when used.
"""
