"""The loaded models: an immutable registry, and a store that swaps it atomically on reload."""

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Protocol

from lib_ml import ArtifactError, Predictor, find_artifacts
from model_service.core.config import Settings
from model_service.core.errors import ModelLoadError, clipped
from model_service.core.remote import fetch_models

logger = logging.getLogger(__name__)


class UnknownModelError(LookupError):
    """A request names a model that is not loaded."""


class NoModelsError(LookupError):
    """No model is loaded, so no request can be served yet."""


@dataclass(frozen=True)
class ModelRegistry:
    """Verified predictors by name, and the name used when a request names none."""

    models: Mapping[str, Predictor] = field(default_factory=lambda: MappingProxyType({}))
    default: str | None = None

    @classmethod
    def from_predictors(cls, predictors: list[Predictor], preferred: str) -> "ModelRegistry":
        by_name: dict[str, Predictor] = {}
        for predictor in predictors:
            if predictor.name in by_name:
                raise ModelLoadError(f"two artifacts are both named {predictor.name!r}")
            by_name[predictor.name] = predictor
        default = preferred if preferred in by_name else next(iter(sorted(by_name)), None)
        if by_name and default != preferred:
            logger.warning(
                "default model %r is not loaded; using %r", preferred, default,
                extra={"loaded": sorted(by_name)},
            )  # fmt: skip
        return cls(MappingProxyType(by_name), default)

    @classmethod
    def from_directory(cls, root: Path, preferred: str) -> "ModelRegistry":
        """Load and verify every artifact dir under root (lib-ml checks each file's sha256)."""
        try:
            directories = find_artifacts(root)
        except ArtifactError as exc:
            raise ModelLoadError(f"cannot load the model artifacts: {exc}") from exc
        predictors = []
        for directory in directories:
            try:
                predictors.append(Predictor.load(directory))
            except (ArtifactError, OSError) as exc:
                raise ModelLoadError(f"cannot load the model artifact {directory}: {exc}") from exc
        return cls.from_predictors(predictors, preferred)

    def get(self, name: str | None) -> Predictor:
        """The named model, or the default one when name is None."""
        if self.default is None:
            raise NoModelsError("no model is loaded")
        chosen = self.default if name is None else name
        try:
            return self.models[chosen]
        except KeyError:
            raise UnknownModelError(
                f"unknown model {clipped(chosen)!r}; loaded models: "
                f"{', '.join(sorted(self.models))}"
            ) from None


def load_registry(settings: Settings) -> ModelRegistry:
    """The models of settings.model_url when set, else of settings.model_dir.

    Every failure is a ModelLoadError, which start-up reports in one line and a reload
    counts as failed while it keeps the loaded models: an unusable cache directory, a full
    disk or an artifact lib-ml cannot read must not escape as anything else."""
    try:
        return _load_registry(settings)
    except ModelLoadError:
        raise
    except Exception as exc:  # pylint: disable=broad-exception-caught  # see the docstring
        raise ModelLoadError(f"cannot load the models: {type(exc).__name__}: {exc}") from exc


def _load_registry(settings: Settings) -> ModelRegistry:
    if settings.model_url is not None:
        root = fetch_models(str(settings.model_url), settings.model_cache_dir)
    else:
        root = settings.model_dir
        # An empty directory is a deployment waiting for its models; a missing one, a mistake.
        if not root.is_dir():
            raise ModelLoadError(
                f"the model directory {root.absolute()} does not exist; train the models "
                "with `phishline train`, or set --model-dir / PHISHLINE_MODEL_DIR to a "
                "directory of model artifacts"
            )
    registry = ModelRegistry.from_directory(root, settings.default_model)
    if not registry.models:
        logger.warning("no model artifacts found", extra={"source": str(root)})
    return registry


class RegistryObserver(Protocol):
    def show_models(self, registry: ModelRegistry) -> None: ...

    def count_reload(self, result: str) -> None: ...


class ModelStore:
    """Holds the current registry; requests take one snapshot each, so a reload never changes
    the model under a request that is being served."""

    def __init__(
        self,
        registry: ModelRegistry,
        loader: Callable[[], ModelRegistry],
        observer: RegistryObserver,
    ):
        self._current = registry
        self._loader = loader
        self._observer = observer
        self._reloading = threading.Lock()
        observer.show_models(registry)

    def _load_nonempty(self) -> ModelRegistry:
        registry = self._loader()
        if not registry.models:
            # Swapping in nothing would turn a serving instance unready: treat it as a failure.
            raise ModelLoadError("the model source holds no model artifacts")
        return registry

    @property
    def current(self) -> ModelRegistry:
        return self._current

    def reload(self) -> ModelRegistry:
        """Load the configured models anew and swap them in; on any failure keep the old ones
        and raise ModelLoadError."""
        with self._reloading:
            try:
                registry = self._load_nonempty()
            except ModelLoadError as exc:
                self._observer.count_reload("failure")
                logger.error(  # noqa: TRY400 - the message is the whole story, no traceback
                    "reload failed; keeping the loaded models: %s", exc,
                    extra={"kept": sorted(self._current.models)},
                )  # fmt: skip
                raise
            self._current = registry
            self._observer.show_models(registry)
            self._observer.count_reload("success")
            logger.info("models reloaded", extra={"models": sorted(registry.models)})
            return registry
