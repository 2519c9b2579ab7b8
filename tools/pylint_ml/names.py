"""Fully qualified names of called objects, resolved through the module's imports."""

from astroid import nodes


def qualified_name(node: nodes.NodeNG) -> str | None:
    """`np.random.rand` -> `numpy.random.rand` when `np` is `import numpy as np`; None for
    anything that is not a dotted name rooted in an import."""
    if isinstance(node, nodes.Attribute):
        base = qualified_name(node.expr)
        return f"{base}.{node.attrname}" if base else None
    if not isinstance(node, nodes.Name):
        return None
    _, assignments = node.lookup(node.name)
    origin = assignments[-1] if assignments else None
    if isinstance(origin, nodes.ImportFrom) and not origin.level:
        return f"{origin.modname}.{origin.real_name(node.name)}"
    if isinstance(origin, nodes.Import):
        # `import numpy as np` names numpy; `import numpy.random` binds numpy.
        return next(
            (
                str(name) if alias else node.name
                for name, alias in origin.names
                if alias == node.name or (alias is None and name.split(".")[0] == node.name)
            ),
            None,
        )
    return None


def keyword(call: nodes.Call, name: str) -> nodes.NodeNG | None:
    """The value passed as keyword `name`, if any."""
    return next((kw.value for kw in call.keywords or () if kw.arg == name), None)


def is_none(value: nodes.NodeNG | None) -> bool:
    return isinstance(value, nodes.Const) and value.value is None
