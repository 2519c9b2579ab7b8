"""The repository's pylint plugin (tools/pylint_ml): each checker flags what it should and
leaves alone what it should, and the root configuration loads it."""

import subprocess
import sys
from pathlib import Path

import astroid
import pytest
from astroid import nodes
from astroid.manager import AstroidManager
from pylint.interfaces import HIGH, INFERENCE
from pylint.testutils import CheckerTestCase, MessageTest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # as the pylint init-hook of pyproject.toml does

from pylint_ml import DataPathChecker, PandasChecker, RandomnessChecker  # noqa: E402
from pylint_ml.data_paths import looks_like_data_path  # noqa: E402
from pylint_ml.names import qualified_name  # noqa: E402
from pylint_ml.randomness import takes_random_state  # noqa: E402


def calls(code: str) -> list[nodes.Call]:
    """The calls marked `#@` in code."""
    found = astroid.extract_node(code)
    return found if isinstance(found, list) else [found]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import numpy as np\nnp.random.rand #@", "numpy.random.rand"),
        ("import numpy.random\nnumpy.random.rand #@", "numpy.random.rand"),
        ("from numpy import random as npr\nnpr.rand #@", "numpy.random.rand"),
        ("from random import choice\nchoice #@", "random.choice"),
        ("import random\nrandom.Random #@", "random.Random"),
        ("rng = object()\nrng.random #@", None),
        ("from . import sibling\nsibling.f #@", None),
        ("undefined_name.f #@", None),
        ("(lambda: 1)() #@", None),
    ],
)
def test_qualified_names_follow_the_imports(code: str, expected: str | None) -> None:
    node = astroid.extract_node(code)
    target = node.func if isinstance(node, nodes.Call) else node
    assert qualified_name(target) == expected


class TestRandomness(CheckerTestCase):
    CHECKER_CLASS = RandomnessChecker

    def assert_flags(self, code: str, message: str, name: str) -> None:
        (call,) = calls(code)
        with self.assertAddsMessages(
            MessageTest(message, node=call, args=(name,), confidence=HIGH), ignore_position=True
        ):
            self.checker.visit_call(call)

    def test_global_numpy_draws(self) -> None:
        self.assert_flags(
            "import numpy as np\nnp.random.rand(3) #@", "unseeded-random-call", "numpy.random.rand"
        )
        self.assert_flags(
            "from numpy import random\nrandom.shuffle(x) #@",
            "unseeded-random-call",
            "numpy.random.shuffle",
        )

    def test_global_python_draws(self) -> None:
        self.assert_flags(
            "import random\nrandom.random() #@", "unseeded-random-call", "random.random"
        )
        self.assert_flags(
            "from random import sample\nsample(x, 2) #@", "unseeded-random-call", "random.sample"
        )

    def test_torch_draws_without_a_generator(self) -> None:
        self.assert_flags("import torch\ntorch.randn(3) #@", "unseeded-random-call", "torch.randn")

    def test_generators_without_a_seed(self) -> None:
        for code, name in (
            ("import numpy as np\nnp.random.default_rng() #@", "numpy.random.default_rng"),
            ("import numpy as np\nnp.random.default_rng(None) #@", "numpy.random.default_rng"),
            ("import numpy as np\nnp.random.RandomState(seed=None) #@", "numpy.random.RandomState"),
            ("import random\nrandom.Random() #@", "random.Random"),
        ):
            self.assert_flags(code, "unseeded-random-generator", name)

    def test_sklearn_without_random_state(self) -> None:
        self.assert_flags(
            "from sklearn.linear_model import SGDClassifier\nSGDClassifier(alpha=1.0) #@",
            "estimator-without-random-state",
            "sklearn.linear_model.SGDClassifier",
        )
        self.assert_flags(
            "import sklearn.model_selection as ms\nms.train_test_split(X, random_state=None) #@",
            "estimator-without-random-state",
            "sklearn.model_selection.train_test_split",
        )

    def test_controlled_randomness_passes(self) -> None:
        for call in calls(
            """
import random
import numpy as np
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
np.random.default_rng(42) #@
np.random.default_rng(seed) #@
np.random.seed(0) #@
random.Random(7) #@
random.SystemRandom() #@
torch.rand(3, generator=g) #@
LogisticRegression(random_state=0) #@
train_test_split(X, y, random_state=seed) #@
LinearRegression() #@
LogisticRegression(**options) #@
rng.permutation(10) #@
"""
        ):
            with self.assertNoMessages():
                self.checker.visit_call(call)

    def test_random_state_lookup_tolerates_unknown_names(self) -> None:
        assert takes_random_state("sklearn.ensemble.RandomForestClassifier")
        assert not takes_random_state("sklearn.no_such_module.Thing")
        assert not takes_random_state("sklearn.linear_model.NoSuchEstimator")


class TestPandas(CheckerTestCase):
    CHECKER_CLASS = PandasChecker

    def test_inplace(self) -> None:
        (call,) = calls("df.drop(columns=['a'], inplace=True) #@")
        with self.assertAddsMessages(
            MessageTest("pandas-inplace", node=call, confidence=HIGH), ignore_position=True
        ):
            self.checker.visit_call(call)
        for call in calls("df.drop(columns=['a'], inplace=False) #@\ndf.drop(columns=['a']) #@"):
            with self.assertNoMessages():
                self.checker.visit_call(call)

    @pytest.mark.parametrize(
        "code",
        [
            "df.loc[rows]['b'] = 1 #@",
            "df.iloc[0][1] = 1 #@",
            "df[df.a > 0]['b'] = 1 #@",
            "df[(df.a > 0) & (df.b < 1)]['c'] += 1 #@",
            "df[~mask]['c'] = 0 #@",
        ],
    )
    def test_chained_assignment(self, code: str) -> None:
        statement = astroid.extract_node(code)
        target = statement.targets[0] if isinstance(statement, nodes.Assign) else statement.target
        with self.assertAddsMessages(
            MessageTest("pandas-chained-assignment", node=target, confidence=HIGH),
            ignore_position=True,
        ):
            self._visit(statement)

    def test_chained_assignment_on_an_inferred_data_frame(self) -> None:
        # pandas is not installed here: a stub module stands in for it in astroid's cache.
        stub = astroid.parse("class DataFrame:\n    pass\n", module_name="pandas")
        AstroidManager().cache_module(stub)
        try:
            statement = astroid.extract_node(
                "import pandas as pd\nframe = pd.DataFrame()\nframe['a']['b'] = 1 #@"
            )
            with self.assertAddsMessages(
                MessageTest(
                    "pandas-chained-assignment", node=statement.targets[0], confidence=INFERENCE
                ),
                ignore_position=True,
            ):
                self._visit(statement)
        finally:
            AstroidManager().astroid_cache.pop("pandas")

    def test_nested_containers_are_not_data_frames(self) -> None:
        for code in (
            "config['a']['b'] = 1 #@",
            "grid[0][1] = 2 #@",
            "x[0] = 1 #@",
            "a.b = 1 #@",
            "import pandas as pd\nframe = pd.DataFrame()\nframe['a'] = 1 #@",
        ):
            with self.assertNoMessages():
                self._visit(astroid.extract_node(code))

    def _visit(self, statement: nodes.NodeNG) -> None:
        if isinstance(statement, nodes.Assign):
            self.checker.visit_assign(statement)
        else:
            self.checker.visit_augassign(statement)


class TestDataPaths(CheckerTestCase):
    CHECKER_CLASS = DataPathChecker

    @pytest.mark.parametrize(
        "path",
        [
            "/home/alice/data.csv",
            "/Users/bob/corpus",
            "~/datasets/urls.txt",
            "C:\\\\data\\\\train.parquet",
            "data/raw/train.csv",
            "../shared/data/ebbu2017/data_phishing_37175.json",
            "models/model.PKL",
            "/tmp/cache/features.npy",
        ],
    )
    def test_data_paths_are_flagged(self, path: str) -> None:
        const = astroid.extract_node(f"load({path!r}) #@").args[0]
        with self.assertAddsMessages(
            MessageTest("hard-coded-data-path", node=const, args=(const.value,), confidence=HIGH),
            ignore_position=True,
        ):
            self.checker.visit_const(const)

    @pytest.mark.parametrize(
        "text",
        [
            "model.json",
            "linear.npz",
            "reports",
            "/v1/predict",
            "/health/live",
            "https://example.com/data.csv",
            "sqlite:///feedback.db",
            "{name}.txt",
            "a file called data/x.csv",
            "/etc/hosts",
            "/openapi.json",
            "/api/openapi.json",
        ],
    )
    def test_other_strings_pass(self, text: str) -> None:
        assert not looks_like_data_path(text)
        with self.assertNoMessages():
            self.checker.visit_const(astroid.extract_node(f"f({text!r}) #@").args[0])

    def test_parts_of_f_strings(self) -> None:
        flagged = astroid.extract_node("f'/home/{user}/x' #@").values[0]
        with self.assertAddsMessages(
            MessageTest("hard-coded-data-path", node=flagged, args=("/home/",), confidence=HIGH),
            ignore_position=True,
        ):
            self.checker.visit_const(flagged)
        data_file = astroid.extract_node("f'{root}/train.csv' #@").values[1]
        with self.assertAddsMessages(
            MessageTest(
                "hard-coded-data-path", node=data_file, args=("/train.csv",), confidence=HIGH
            ),
            ignore_position=True,
        ):
            self.checker.visit_const(data_file)
        # After a formatted value, a leading slash is a separator, not the root /data.
        with self.assertNoMessages():
            self.checker.visit_const(
                astroid.extract_node("f'{tests}/data/test_schema.py' #@").values[1]
            )

    def test_bare_string_statements_are_prose(self) -> None:
        prose = astroid.extract_node("x = 1\n'see /home/alice/data.csv' #@")
        assert isinstance(prose.parent, nodes.Expr)
        with self.assertNoMessages():
            self.checker.visit_const(prose)
        with self.assertNoMessages():
            self.checker.visit_const(astroid.extract_node("f(3) #@").args[0])


def test_the_repository_configuration_loads_the_plugin(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""A module."""\n\nimport numpy as np\n\nSAMPLE = np.random.rand(3)\nDATA = "/home/alice/x.csv"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "pylint", "--jobs=1", "--score=n", str(sample)],
        cwd=REPO, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert "W9701" in result.stdout, result.stdout + result.stderr
    assert "W9706" in result.stdout
    assert result.returncode != 0
