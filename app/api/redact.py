"""What anonymous readers do not see: enterprises' tax, output, investment and revenue figures.

The HTTP side of :mod:`app.planning.money` (which fields are money, and blanking them).

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
from typing import TypeVar

from app.auth.tokens import Principal
from app.errors import Unauthorized
from app.io.layers import Layer
from app.planning.money import MONEY_FIELDS, redact_money

T = TypeVar("T")


def sees_money(principal: Principal | None) -> bool:
    """Whether the reader may see money figures: any logged-in role."""
    return principal is not None


def for_reader(principal: Principal | None, value: T) -> T:
    """``value`` as ``principal`` may see it: unchanged for a logged-in role, money figures nulled otherwise."""
    if sees_money(principal):
        return value
    return redact_money(value)


def visible_layer(principal: Principal | None, layer: Layer) -> Layer:
    """The layer as ``principal`` may read, filter and sort it: without the money fields when anonymous."""
    if sees_money(principal) or not any(f.name in MONEY_FIELDS for f in layer.fields):
        return layer
    return dataclasses.replace(layer, fields=tuple(f for f in layer.fields if f.name not in MONEY_FIELDS))


def require_login_for(principal: Principal | None, what: str, what_zh: str) -> None:
    """401 for an anonymous reader of something ranked by or made of money figures (``what``, in English and
    Chinese)."""
    if not sees_money(principal):
        raise Unauthorized(f"{what} carries enterprise tax figures: log in to see it",
                           zh=f"{what_zh}含有企业税收数据：请登录后查看")
