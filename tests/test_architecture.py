"""The package boundaries of docs/architecture.md, checked by walking every module's imports (no app import)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"

DOMAIN = ("planning", "programme", "io", "ogc", "tiles", "db", "auth")
"""Packages that know neither HTTP nor the terminal."""
HTTP_AND_CLI = ("app.api", "app.cli", "fastapi", "starlette", "uvicorn", "typer", "rich")
"""What they must not import."""
GETTERS = ("get_settings", "get_rules", "get_programme_rules", "get_limits")
"""Module-level settings getters: settings are built at the edge (app factory, CLI) and passed down."""
ROOT_MODULES = {"__init__.py", "main.py", "settings.py", "models.py", "errors.py"}
"""The only modules at the root of ``app/``: the rest lives in a package."""


def imports(source: str, module: str) -> list[str]:
    """Every module the source of ``module`` (``app.planning.sql``) imports, relative imports made absolute."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: -node.level]
                base = ".".join([*package, base]) if base else ".".join(package)
            found += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return found


def forbidden(source: str, module: str) -> list[str]:
    """The imports of the HTTP layer or the CLI in ``module``."""
    return [m for m in imports(source, module) if any(m == h or m.startswith(h + ".") for h in HTTP_AND_CLI)]


def names(path: Path) -> set[str]:
    """Every identifier ``path`` mentions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


def domain_modules() -> list[Path]:
    return sorted(p for package in DOMAIN for p in (APP / package).rglob("*.py"))


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: str(p.relative_to(APP)))
def test_domain_imports_neither_http_nor_cli(path: Path) -> None:
    module = ".".join(path.relative_to(APP.parent).with_suffix("").parts)
    bad = forbidden(path.read_text(encoding="utf-8"), module)
    assert not bad, f"{path.relative_to(APP)} imports {bad}"


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: str(p.relative_to(APP)))
def test_domain_fetches_no_settings(path: Path) -> None:
    used = sorted(names(path) & set(GETTERS))
    assert not used, f"{path.relative_to(APP)} calls {used}: take the settings as an argument"


def test_no_loose_modules_at_the_root() -> None:
    loose = sorted(p.name for p in APP.glob("*.py") if p.name not in ROOT_MODULES)
    assert not loose, f"modules at the root of app/ that belong in a package: {loose}"


def test_the_walk_sees_a_forbidden_import() -> None:
    """The check above can fail: each way of importing the HTTP layer or the CLI is caught."""
    source = ("import fastapi\nfrom app.api.deps import RulesDep\nfrom ..cli import common\n"
              "from app.planning import sql\n")
    assert forbidden(source, "app.planning.probe") == ["fastapi", "app.api.deps", "app.api.deps.RulesDep",
                                                        "app.cli", "app.cli.common"]


def test_no_private_server_names_in_the_app() -> None:
    """No uvicorn or Starlette internals: the serving path stays stock."""
    private = ("uvicorn.protocols", "httptools_impl", "build_middleware_stack", "uvicorn.config", "starlette._")
    hits = [(str(p.relative_to(APP)), word) for p in APP.rglob("*.py") for word in private
            if word in p.read_text(encoding="utf-8")]
    assert not hits
