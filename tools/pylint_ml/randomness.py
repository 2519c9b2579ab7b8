"""Uncontrolled randomness: results that cannot be reproduced because a random state is
global or unseeded."""

import importlib
import inspect
from functools import lru_cache

from astroid import nodes
from pylint.checkers import BaseChecker
from pylint.interfaces import HIGH

from pylint_ml.names import is_none, keyword, qualified_name

# numpy.random's names that are not draws from the global RandomState.
NUMPY_CONTROL = frozenset({
    "default_rng", "Generator", "RandomState", "SeedSequence", "BitGenerator", "PCG64",
    "PCG64DXSM", "MT19937", "Philox", "SFC64", "seed", "get_state", "set_state",
    "get_bit_generator", "set_bit_generator",
})  # fmt: skip
# Python's random module: the functions that draw from its hidden global generator.
PYTHON_DRAWS = frozenset({
    "random", "randint", "randrange", "choice", "choices", "shuffle", "sample", "uniform",
    "gauss", "normalvariate", "triangular", "betavariate", "binomialvariate", "expovariate",
    "gammavariate", "lognormvariate", "vonmisesvariate", "paretovariate", "weibullvariate",
    "getrandbits", "randbytes",
})  # fmt: skip
# torch's sampling functions: reproducible only with an explicit `generator=`.
TORCH_DRAWS = frozenset({
    "rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
    "bernoulli", "multinomial", "normal", "poisson",
})  # fmt: skip
# Generators whose first argument is the seed.
SEEDABLE = frozenset({
    "numpy.random.default_rng", "numpy.random.RandomState", "numpy.random.SeedSequence",
    "numpy.random.PCG64", "numpy.random.PCG64DXSM", "numpy.random.MT19937",
    "numpy.random.Philox", "numpy.random.SFC64", "random.Random",
})  # fmt: skip


@lru_cache(maxsize=512)
def takes_random_state(name: str) -> bool:
    """Whether the scikit-learn callable `name` has a `random_state` parameter."""
    module_name, _, attribute = name.rpartition(".")
    try:
        target = getattr(importlib.import_module(module_name), attribute)
        return "random_state" in inspect.signature(target).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return False


def _global_draw(name: str, call: nodes.Call) -> bool:
    module, _, function = name.rpartition(".")
    if module == "numpy.random":
        return function not in NUMPY_CONTROL
    if module == "random":
        return function in PYTHON_DRAWS
    if module == "torch":
        return function in TORCH_DRAWS and keyword(call, "generator") is None
    return False


def _unseeded(name: str, call: nodes.Call) -> bool:
    if name not in SEEDABLE:
        return False
    seed = call.args[0] if call.args else keyword(call, "seed")
    return seed is None or is_none(seed)


class RandomnessChecker(BaseChecker):
    name = "ml-randomness"
    msgs = {  # noqa: RUF012  (pylint's BaseChecker declares msgs as a class attribute)
        "W9701": (
            "%s draws from a global random state; draw from a seeded generator instead "
            "(np.random.default_rng(seed), random.Random(seed), generator=...)",
            "unseeded-random-call",
            "Results drawn from a hidden global random state cannot be reproduced.",
        ),
        "W9702": (
            "%s is created without a seed",
            "unseeded-random-generator",
            "A generator without a seed draws from the operating system's entropy.",
        ),
        "W9703": (
            "%s takes random_state: pass a seed",
            "estimator-without-random-state",
            "scikit-learn callables with random_state=None are not reproducible.",
        ),
    }

    def visit_call(self, node: nodes.Call) -> None:
        name = qualified_name(node.func)
        if name is None:
            return
        if _global_draw(name, node):
            self.add_message("unseeded-random-call", node=node, args=(name,), confidence=HIGH)
        elif _unseeded(name, node):
            self.add_message("unseeded-random-generator", node=node, args=(name,), confidence=HIGH)
        elif (
            name.startswith("sklearn.")
            and not any(isinstance(a, nodes.Starred) for a in node.args)
            and not any(kw.arg is None for kw in node.keywords or ())  # no **kwargs
            and takes_random_state(name)
            and (keyword(node, "random_state") is None or is_none(keyword(node, "random_state")))
        ):
            self.add_message(
                "estimator-without-random-state", node=node, args=(name,), confidence=HIGH
            )
