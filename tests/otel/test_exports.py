"""The public surface of temporal_router.otel."""

from __future__ import annotations

import ast
import inspect
import itertools
from pathlib import Path

import temporal_router.otel as otel
from temporal_router.otel import _attributes


def test_all_is_the_public_namespace() -> None:
    public = {n for n in vars(otel) if not n.startswith("_")}
    assert set(otel.__all__) == public
    assert len(otel.__all__) == len(set(otel.__all__))


def test_every_name_is_documented_dotted_lowercase_and_unique() -> None:
    source = Path(inspect.getfile(_attributes)).read_text()
    body = ast.parse(source).body
    documented = {
        target.id
        for node, after in itertools.pairwise(body)
        if isinstance(node, ast.AnnAssign)
        and isinstance(target := node.target, ast.Name)
        and isinstance(after, ast.Expr)
        and isinstance(after.value, ast.Constant)
        and isinstance(after.value.value, str)
    }
    assert documented == set(_attributes.__all__)
    for name in _attributes.__all__:
        assert name in otel.__all__
    keys = [
        getattr(_attributes, n)
        for n in _attributes.__all__
        if n.startswith(("ERROR_", "EVENT_", "METRIC_", "TRANSITION_", "WORKFLOW_"))
        or n in ("COMMAND_TYPE", "DEFINITION", "RESULT")
    ]
    assert len(keys) == len(set(keys))
    for value in keys:
        assert value == "error.type" or value.startswith("temporal_router."), value
        assert value == value.lower(), value


def test_public_callables_have_docstrings_with_examples() -> None:
    for name in otel.__all__:
        obj = getattr(otel, name)
        if callable(obj):
            doc = inspect.getdoc(obj) or ""
            assert "Example::" in doc, name
