"""The optional `build` extra: what only training needs (scipy, onnx), so that serving installs
neither."""

BUILD_EXTRA = "phishline-lib-ml[build]"


def build_extra_missing(missing: ModuleNotFoundError, needed_by: str) -> ModuleNotFoundError:
    """`missing` restated for a user: what needs the module, and the install that brings it."""
    return ModuleNotFoundError(
        f"{needed_by} needs {missing.name}, which lib-ml installs only with its training "
        f"extra: pip install '{BUILD_EXTRA}'",
        name=missing.name,
    )
