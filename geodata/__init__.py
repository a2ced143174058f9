"""Reference geodata for Cixi and the synthetic sample generator (``geodata.sample.generate``)."""

from __future__ import annotations

from typing import Any

__all__ = ["COLUMNS", "SampleData", "generate"]


def __getattr__(name: str) -> Any:
    """Import the generator lazily (``from geodata import generate``) so ``import geodata`` stays light."""
    if name in __all__:
        from geodata import sample

        return getattr(sample, name)
    raise AttributeError(f"module 'geodata' has no attribute {name!r}")
