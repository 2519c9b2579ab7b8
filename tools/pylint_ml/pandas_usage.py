"""pandas: `inplace=True` and chained-indexing assignments."""

from astroid import nodes, util
from pylint.checkers import BaseChecker
from pylint.checkers.utils import safe_infer
from pylint.interfaces import HIGH, INFERENCE

from pylint_ml.names import keyword

INDEXERS = frozenset({"loc", "iloc", "at", "iat"})


def _is_mask(node: nodes.NodeNG) -> bool:
    """A boolean mask expression: `df[df.a > 0]`, `df[(a) & (b)]`, `df[~m]`."""
    if isinstance(node, nodes.Compare):
        return True
    if isinstance(node, nodes.BinOp) and node.op in ("&", "|", "^"):
        return True
    return isinstance(node, nodes.UnaryOp) and node.op == "~"


def _is_pandas(node: nodes.NodeNG) -> bool:
    inferred = safe_infer(node)
    if inferred is None or isinstance(inferred, util.UninferableBase):
        return False
    return str(getattr(inferred, "pytype", lambda: "")()).startswith("pandas.")


class PandasChecker(BaseChecker):
    name = "ml-pandas"
    msgs = {  # noqa: RUF012  (pylint's BaseChecker declares msgs as a class attribute)
        "W9704": (
            "inplace=True: assign the result instead",
            "pandas-inplace",
            "inplace rarely saves memory, hides the data flow and breaks method chains "
            "(pandas plans to deprecate it).",
        ),
        "W9705": (
            "chained indexing in an assignment: it may write to a temporary copy; "
            "index once with .loc[rows, columns]",
            "pandas-chained-assignment",
            "df[a][b] = x and df.loc[a][b] = x assign to whatever the first indexing "
            "returned, a copy or a view (SettingWithCopyWarning).",
        ),
    }

    def visit_call(self, node: nodes.Call) -> None:
        value = keyword(node, "inplace")
        if isinstance(value, nodes.Const) and value.value is True:
            self.add_message("pandas-inplace", node=node, confidence=HIGH)

    def visit_assign(self, node: nodes.Assign) -> None:
        for target in node.targets:
            self._check_target(target)

    def visit_augassign(self, node: nodes.AugAssign) -> None:
        self._check_target(node.target)

    def _check_target(self, target: nodes.NodeNG) -> None:
        if not (isinstance(target, nodes.Subscript) and isinstance(target.value, nodes.Subscript)):
            return
        inner = target.value
        indexer = isinstance(inner.value, nodes.Attribute) and inner.value.attrname in INDEXERS
        if indexer or _is_mask(inner.slice):
            self.add_message("pandas-chained-assignment", node=target, confidence=HIGH)
        elif _is_pandas(inner.value):
            self.add_message("pandas-chained-assignment", node=target, confidence=INFERENCE)
