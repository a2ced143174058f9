"""What anonymous readers do not see: enterprises' tax, output, investment and revenue figures.

Land and tax data of enterprises are sensitive (issue 8); areas, floor areas, FAR, density, shares, statuses
and rule outcomes stay public. For a request without a token:

- JSON answers (metrics, cards, totals) carry ``null`` for every field in :data:`MONEY_FIELDS`, and the
  results of the tax rules (:data:`MONEY_RULES`) keep their outcome but lose value, shortfall and gap;
- the parcel layer of the OGC API and its queryables lose the fields ``invest``, ``output`` and ``tax``
  (so they can neither be read nor filtered or sorted on);
- lists ranked by tax (``/api/compliance`` for a tax rule) and exports of layers that carry these figures
  (parcels, blocks, enterprises) need a login.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from app.auth.tokens import Principal
from app.errors import Unauthorized
from app.io.layers import Layer

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


def sees_money(principal: Principal | None) -> bool:
    """Whether the reader may see money figures: any logged-in role."""
    return principal is not None


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


def for_reader(principal: Principal | None, value: T) -> T:
    """``value`` as ``principal`` may see it: unchanged for a logged-in role, money figures nulled otherwise."""
    if sees_money(principal):
        return value
    redacted: T = _redact(value)
    return redacted


def visible_layer(principal: Principal | None, layer: Layer) -> Layer:
    """The layer as ``principal`` may read, filter and sort it: without the money fields when anonymous."""
    if sees_money(principal) or not any(f.name in MONEY_FIELDS for f in layer.fields):
        return layer
    return dataclasses.replace(layer, fields=tuple(f for f in layer.fields if f.name not in MONEY_FIELDS))


def require_login_for(principal: Principal | None, what: str) -> None:
    """401 for an anonymous reader of something ranked by or made of money figures."""
    if not sees_money(principal):
        raise Unauthorized(f"{what} carries enterprise tax figures: log in to see it")
