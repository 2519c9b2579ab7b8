"""Hard-coded data paths: data locations belong in configuration (params.yaml, settings,
CLI options), not in code, so that the code runs on another machine and other data."""

import re

from astroid import nodes
from pylint.checkers import BaseChecker
from pylint.interfaces import HIGH

# A machine-specific location: home directories, mounts, scratch space, drive letters.
_MACHINE_ROOT = re.compile(
    r"^(~[/\\]|[A-Za-z]:[\\/]|"
    r"/(home|Users|root|mnt|media|data|datasets|work|srv|scratch|tmp|opt|var/lib)/)"
)
# A path to a data file: it has a separator and a data file's extension.
_DATA_FILE = re.compile(
    r"[/\\][^/\\]*\.(csv|tsv|json|jsonl|parquet|feather|arrow|npy|npz|pkl|pickle|joblib|h5|"
    r"hdf5|xlsx?|avro|orc|txt|zip|gz|bz2|xz|tar)$",
    re.IGNORECASE,
)


def looks_like_data_path(text: str, starts_the_string: bool = True) -> bool:
    """Whether `text` names a data location. `starts_the_string` is False for a part of an
    f-string that follows a formatted value: its leading `/` is then no root."""
    if "://" in text or any(c.isspace() for c in text):
        return False
    if starts_the_string and _MACHINE_ROOT.match(text):
        return True
    if starts_the_string and text.startswith("/"):
        return False  # other absolute paths cannot be told apart from URL routes
    return bool(_DATA_FILE.search(text))


class DataPathChecker(BaseChecker):
    name = "ml-data-paths"
    msgs = {  # noqa: RUF012  (pylint's BaseChecker declares msgs as a class attribute)
        "W9706": (
            "hard-coded data path %r: read it from configuration",
            "hard-coded-data-path",
            "A data location written in code ties the code to one machine and one data set.",
        ),
    }

    def visit_const(self, node: nodes.Const) -> None:
        if not isinstance(node.value, str) or isinstance(node.parent, nodes.Expr):
            return  # docstrings and bare string statements are prose
        parent = node.parent
        starts = not isinstance(parent, nodes.JoinedStr) or parent.values[0] is node
        if looks_like_data_path(node.value, starts):
            self.add_message("hard-coded-data-path", node=node, args=(node.value,), confidence=HIGH)
