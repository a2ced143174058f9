"""The FAR rule's SQL fragments: only bind placeholders and whitelisted aliases go into them, and the height
threshold is bound as the decimal that orders stored storey heights as the float twin does."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.planning import sql
from app.planning.config import PlanningRules
from app.planning.rule_sql import (
    counted_floor_area_sql,
    doubled_sql,
    far_floor_sql,
    height_threshold_param,
    rule_params,
    used_sql,
)


@pytest.mark.parametrize("make", [
    lambda: used_sql("g", count_illegal="true"),
    lambda: doubled_sql("g", height_threshold_m="8"),
    lambda: counted_floor_area_sql("g", height_multiplier="2); DROP TABLE parcels; --"),
    lambda: far_floor_sql("fe", far_min="2.0"),
])
def test_values_never_go_into_the_text(make) -> None:
    with pytest.raises(ValueError, match="not a bind parameter"):
        make()


@pytest.mark.parametrize("alias", ["x", "g; DELETE FROM buildings", ""])
def test_aliases_are_whitelisted(alias: str) -> None:
    with pytest.raises(ValueError, match="not whitelisted"):
        counted_floor_area_sql(alias)


def test_planning_and_map_share_the_building_terms() -> None:
    """The planning statements' terms are the ones the map's counted floor area is made of."""
    assert sql._USED == used_sql("b") and sql._DOUBLED == doubled_sql("b")
    counted = counted_floor_area_sql("b", height_threshold_m="$6", height_multiplier="$7", count_illegal="$8")
    assert used_sql("b", count_illegal="$8") in counted
    assert doubled_sql("b", height_threshold_m="$6") == "(b.floor_h > CAST($6 AS numeric))"
    assert doubled_sql("b", height_threshold_m="$6") in counted


@pytest.mark.parametrize("threshold, bound", [(8.0, Decimal("8.0")), (7.99, Decimal("7.99")),
                                              (0.1 + 0.2, Decimal("0.30000000000000004"))])
def test_height_threshold_bound_as_shortest_decimal(threshold: float, bound: Decimal) -> None:
    rules = PlanningRules(height_threshold_m=threshold)
    assert height_threshold_param(rules) == bound
    assert rule_params(rules)["height_threshold_m"] == bound
    # a storey height stored with 2 decimals is above the bound decimal exactly when its float is above the float
    for cm in range(790, 811):
        stored = Decimal(cm) / 100
        assert (stored > bound) == (float(stored) > threshold)
