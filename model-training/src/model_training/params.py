"""What params.yaml may hold: its sections as strict pydantic models.

`config.load_params` checks the file against them before any stage reads it, so a missing key,
a misspelt one or a value of the wrong type or range is one `ParamsError` naming every such
key, not a traceback from deep inside a fit. Nothing is converted: a stage reads the values
as written (they are recorded in the artifacts' manifests). Sections are optional, as a
stage reads only its own; `tests` is checked by the test suite and `phishline report data`
that read it, `release` by the release gate.
"""

from pathlib import PurePosixPath
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from lib_ml.features import VIEWS, NgramConfig
from lib_ml.labels import LABELS
from model_training.sources import FORMATS

FAMILIES = ("linear", "gbm", "ensemble")


def _one_of(names: tuple[str, ...]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"{value!r} is not one of {names}")
        return value

    return AfterValidator(check)


Count = Annotated[int, Field(ge=1)]
Positive = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(gt=0, le=1)]
Format = Annotated[str, _one_of(FORMATS)]
View = Annotated[str, _one_of(VIEWS)]


class Section(BaseModel):
    # strict: YAML already gives numbers and booleans their types; a quoted "10" is a slip.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RawFileParams(Section):
    path: str
    format: Format
    label: Annotated[str, _one_of(LABELS)] | None = None
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _inside_the_mirror(self) -> Self:
        # Anywhere else, the copy "under data/raw" would be written outside it: over the file
        # itself (made read-only) for an absolute path, beside the project for "../".
        path = PurePosixPath(self.path)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(f"{self.path}: a path must be relative to the data mirror")
        return self


class SourceParams(Section):
    name: str
    files: list[RawFileParams]


class DataParams(Section):
    mirror: str | None = None  # PHISHLINE_DATA_MIRROR overrides it (`config.mirror_directory`)
    sources: list[SourceParams]


class PrepareParams(Section):
    seed: int
    val_fraction: Annotated[float, Field(ge=0)]
    test_fraction: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _train_keeps_a_share(self) -> Self:
        # Else grouped_split fills test and val and leaves train empty, without a word.
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(
                f"val_fraction ({self.val_fraction}) and test_fraction ({self.test_fraction}) "
                "must add up to less than 1"
            )
        return self


class ViewOverrides(Section):
    """What the ensemble's views other than url change of the linear family's parameters."""

    ngram_min: Count | None = None
    ngram_max: Count | None = None
    hash_bits: int | None = None
    alpha: Positive | None = None
    epochs: Count | None = None
    chunk_size: Count | None = None


class LinearParams(Section):
    ngram_min: Count
    ngram_max: Count
    hash_bits: int
    host_ngrams: bool = False
    view: View = "url"
    alpha: Positive
    epochs: Count
    chunk_size: Count

    @model_validator(mode="after")
    def _ngrams(self) -> Self:
        self.ngram_config()
        return self

    def ngram_config(
        self, view: str = "url", overrides: ViewOverrides | None = None
    ) -> NgramConfig:
        """lib-ml's n-gram config of these parameters, or of another ensemble view with its
        overrides (as `train.view_params`); lib-ml's checks raise ValueError."""
        fields = self.model_dump()
        if view != "url":
            fields |= (overrides or ViewOverrides()).model_dump(exclude_none=True)
            fields |= {"view": view, "host_ngrams": False}
        return NgramConfig(
            fields["ngram_min"], fields["ngram_max"], fields["hash_bits"],
            fields["host_ngrams"], fields["view"],
        )  # fmt: skip


class GbmParams(Section):
    learning_rate: Positive
    num_leaves: Annotated[int, Field(ge=2)]
    min_data_in_leaf: Count
    feature_fraction: Share
    bagging_fraction: Share
    lambda_l2: Annotated[float, Field(ge=0)]
    num_boost_round: Count
    early_stopping_rounds: Count
    num_threads: Count = 2


class EnsembleParams(Section):
    views: Annotated[list[View], Field(min_length=1)]
    tld_prior: bool
    monotone_views: bool = False
    tld_smoothing: Annotated[float, Field(ge=0)]
    folds: Annotated[int, Field(ge=2)]
    workers: Count
    view: ViewOverrides = ViewOverrides()
    gbm: GbmParams

    @model_validator(mode="after")
    def _distinct_views(self) -> Self:
        if len(set(self.views)) != len(self.views):
            raise ValueError(f"views {self.views} name a view twice")
        return self


class TrainParams(Section):
    seed: int
    model_version: str
    families: list[Annotated[str, _one_of(FAMILIES)]]
    refit: bool = False
    linear: LinearParams | None = None
    gbm: GbmParams | None = None
    ensemble: EnsembleParams | None = None

    @model_validator(mode="after")
    def _sections_of_the_families(self) -> Self:
        # The ensemble's url view is the linear family's model.
        needs = {"linear": ("linear",), "gbm": ("gbm",), "ensemble": ("linear", "ensemble")}
        for family in self.families:
            for section in needs[family]:
                if getattr(self, section) is None:
                    raise ValueError(f"family {family} needs the section train.{section}")
        if self.ensemble is not None and self.linear is not None:
            for view in self.ensemble.views:
                try:
                    self.linear.ngram_config(view, self.ensemble.view)
                except ValueError as exc:
                    raise ValueError(f"the ensemble's {view} view: {exc}") from exc
        return self


class ExternalParams(Section):
    name: str
    format: Format
    paths: Annotated[list[str], Field(min_length=1)]


class EvaluateParams(Section):
    external: list[ExternalParams] = []


class Params(Section):
    data: DataParams | None = None
    prepare: PrepareParams | None = None
    train: TrainParams | None = None
    evaluate: EvaluateParams | None = None
    release: dict[str, Any] | None = None
    tests: dict[str, Any] | None = None


def params_problems(params: dict[str, Any]) -> list[str]:
    """Every value of params that the schema refuses, as `section.key: why (got value)`."""
    try:
        Params.model_validate(params)
    except ValidationError as error:
        return [_problem(detail) for detail in error.errors(include_url=False)]
    return []


def _problem(detail: Any) -> str:
    where = ".".join(str(part) for part in detail["loc"])
    message = str(detail["msg"]).removeprefix("Value error, ")
    if detail["type"] == "extra_forbidden":
        return f"{where}: not a key of params.yaml (misspelt?)"
    value = detail.get("input")
    # A missing key has no value; the message of a check of ours names the value it refuses.
    if detail["type"] in ("missing", "value_error") or isinstance(value, dict | list):
        return f"{where}: {message}"
    said = f"{where}: {message} (got {value!r})"
    if isinstance(value, str) and _reads_as_number(value):
        # PyYAML reads YAML 1.1, where 1e-6 (no dot) is text: 1.0e-6 is a number.
        said += "; write a number with a dot and a signed exponent, e.g. 1.0e-6"
    return said


def _reads_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
