"""Version of the installed phishline library, read from package metadata."""

from lib_version.version import DISTRIBUTION, UNKNOWN_VERSION, VersionUtil

__all__ = ["DISTRIBUTION", "UNKNOWN_VERSION", "VersionUtil"]
