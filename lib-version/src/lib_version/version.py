from importlib import metadata

DISTRIBUTION = "phishline-lib-version"
# Reported when the code runs from a source tree that was never installed.
UNKNOWN_VERSION = "0.0.0+unknown"


class VersionUtil:
    """Reports versions from installed package metadata (written at build time from git tags)."""

    @staticmethod
    def get_version() -> str:
        """The version of this library itself."""
        return VersionUtil.version_of(DISTRIBUTION)

    @staticmethod
    def version_of(distribution: str) -> str:
        """The installed version of any distribution, or UNKNOWN_VERSION when it is not installed."""
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return UNKNOWN_VERSION
