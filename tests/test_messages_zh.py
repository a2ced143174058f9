"""Every domain error raised in app/ carries its Chinese sentence (``zh=``) beside the English one."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"

PENDING = {"app/api/middleware.py", "app/api/tiles.py"}
"""Modules whose owners have yet to add ``zh=`` (their raise sites answer in English meanwhile)."""


def _trees() -> dict[str, ast.Module]:
    return {str(p.relative_to(APP.parent)): ast.parse(p.read_text(encoding="utf-8")) for p in sorted(APP.rglob("*.py"))}


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def error_classes(trees: dict[str, ast.Module]) -> set[str]:
    """Names of RenewalError and of every class deriving from it, anywhere in app/."""
    classes = [n for tree in trees.values() for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    found = {"RenewalError"}
    while True:
        more = {c.name for c in classes if c.name not in found and any(_name(b) in found for b in c.bases)}
        if not more:
            return found
        found |= more


def missing_zh(trees: dict[str, ast.Module]) -> list[str]:
    """``path:line Name`` of each construction of a domain error without ``zh=`` (or ``**kwargs``)."""
    names = error_classes(trees)
    own = {c.name for tree in trees.values() for c in ast.walk(tree) if isinstance(c, ast.ClassDef)
           and c.name in names and any(isinstance(f, ast.FunctionDef) and f.name == "__init__" for f in c.body)
           and not any(a.arg == "zh" for f in c.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"
                       for a in f.args.kwonlyargs)}  # errors that build their sentences themselves (from a report)
    return [f"{path}:{call.lineno} {_name(call.func)}" for path, tree in trees.items() if path not in PENDING
            for call in ast.walk(tree) if isinstance(call, ast.Call) and _name(call.func) in names - own
            and not any(k.arg in ("zh", None) for k in call.keywords)]


def test_every_domain_error_has_its_chinese() -> None:
    assert missing_zh(_trees()) == []


def test_the_check_sees_a_missing_chinese_sentence() -> None:
    trees = {"app/errors.py": ast.parse("class RenewalError(Exception): ...\nclass NotFound(RenewalError): ...\n"),
             "app/x.py": ast.parse("class Odd(errors.NotFound): ...\n"
                                   "def f():\n    raise Odd('no', field='a')\n"
                                   "def g():\n    raise NotFound('no', zh='没有')\n")}
    assert missing_zh(trees) == ["app/x.py:3 Odd"]
