"""pylint-ml: pylint checkers for machine-learning code.

- uncontrolled randomness: draws from numpy's, Python's or torch's global random state,
  generators created without a seed, scikit-learn callables left without `random_state`;
- pandas: `inplace=True` and chained-indexing assignments;
- hard-coded data paths.

Enabled for the repository by `load-plugins` in the root pyproject.toml.
"""

from pylint.lint import PyLinter

from pylint_ml.data_paths import DataPathChecker
from pylint_ml.pandas_usage import PandasChecker
from pylint_ml.randomness import RandomnessChecker

__all__ = ["DataPathChecker", "PandasChecker", "RandomnessChecker", "register"]


def register(linter: PyLinter) -> None:
    """pylint's plugin entry point."""
    linter.register_checker(RandomnessChecker(linter))
    linter.register_checker(PandasChecker(linter))
    linter.register_checker(DataPathChecker(linter))
