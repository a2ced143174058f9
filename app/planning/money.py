"""Which figures are enterprises' money (tax, output, investment, revenue), and a value with them blanked.

Land and tax data of enterprises are sensitive: areas, floor areas, FAR, density, shares, statuses and rule
outcomes are public, money figures are for logged-in readers only. This module says which fields and rule
results are money and blanks them; who may see them is decided at the edge (``app/api/redact.py``), and the
reports take ``show_money``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

MONEY_FIELDS = frozenset({
    # layer and card fields (yuan per year; invest in yuan)
    "tax", "output", "invest", "revenue",
    # planning figures (app.planning.figures)
    "tax_yuan", "output_yuan", "invest_yuan",
    "tax_per_mu", "tax_per_mu_wan", "output_per_mu", "output_per_mu_wan", "invest_per_mu", "invest_per_mu_wan",
    # programme figures (app.programme: firms' classes, plans' before/after, reports)
    "revenue_yuan", "tax_per_mu_wan_before", "tax_per_mu_wan_after", "renovated_tax_per_mu_wan",
})
"""Field names whose values are enterprise money figures: shown to logged-in roles only."""
MONEY_RULES = frozenset({"old_block", "target_tax_per_mu"})
"""Rules whose value and shortfall are tax figures (亩均税收, yuan of tax)."""
MONEY_LAYERS = frozenset({"parcels", "blocks", "enterprises"})
"""Layers whose exports carry money figures."""
HIDDEN = "figures hidden: log in to see tax figures"

T = TypeVar("T")


def _rule_result(value: Any) -> bool:
    """Whether ``value`` is a rule result (dataclass or dict) of a tax rule."""
    rule = value.get("rule") if isinstance(value, dict) else getattr(value, "rule", None)
    has_outcome = ("outcome" in value) if isinstance(value, dict) else hasattr(value, "outcome")
    return has_outcome and rule in MONEY_RULES


_RULE_HIDDEN = {"value": None, "shortfall": None, "relative_gap": None, "explanation": HIDDEN}


def _redact(value: Any) -> Any:
    """``value`` with every money field set to None, recursively (dicts, lists, dataclasses)."""
    if isinstance(value, dict):
        out = {k: (None if k in MONEY_FIELDS else _redact(v)) for k, v in value.items()}
        if _rule_result(value):
            out.update({k: v for k, v in _RULE_HIDDEN.items() if k in out})
        return out
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            current = getattr(value, f.name)
            if f.name == "score_terms":  # a firm's measured indicators (亩均税收, 亩均产值...) and their points
                changes[f.name] = []
                continue
            changes[f.name] = None if f.name in MONEY_FIELDS else _redact(current)
        if _rule_result(value):
            changes.update(_RULE_HIDDEN)
        return dataclasses.replace(value, **changes)
    return value


def redact_money(value: T) -> T:
    """``value`` with every money figure blank (None) and firms' score terms dropped (they show indicators)."""
    redacted: T = _redact(value)
    return redacted


