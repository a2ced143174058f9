"""The FAR rule's SQL fragments: only bind placeholders and whitelisted aliases go into them, the height
threshold is bound as the decimal that orders stored storey heights as the float twin does, and every map
statement rolls the rule up per parcel with the one roll-up (rule_sql.parcel_far_sql)."""

from __future__ import annotations

import inspect
from decimal import Decimal

import pytest

from app.planning import far_basis, sql
from app.planning.config import PlanningRules
from app.planning.rule_sql import (
    RULE_PARAMS,
    basement_factor_sql,
    counted_floor_area_sql,
    doubled_sql,
    far_floor_sql,
    far_sql,
    height_threshold_param,
    parcel_far_sql,
    positional,
    roll_up_placeholders,
    rule_params,
    storey_factor_sql,
    used_sql,
)
from app.programme import report_map, svgmap
from app.tiles import layers, queries


@pytest.mark.parametrize("make", [
    lambda: used_sql("g", count_illegal="true"),
    lambda: doubled_sql("g", height_threshold_m="8"),
    lambda: counted_floor_area_sql("g", height_multiplier="2); DROP TABLE parcels; --"),
    lambda: counted_floor_area_sql("g", basement_commercial_factor="0.6"),
    lambda: storey_factor_sql("g", upper_garage_factor="0.5"),
    lambda: basement_factor_sql("g", basement_garage_factor="0"),
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
    assert storey_factor_sql("g", doubled="g.doubled_for_height") in sql._COUNTED
    assert basement_factor_sql("g") in sql._COUNTED and sql._COUNTED in sql.PARCEL_FIGURES["city"].text
    ph = positional(5)
    counted = counted_floor_area_sql("b", **roll_up_placeholders(ph))
    assert used_sql("b", count_illegal="$8") in counted
    assert storey_factor_sql("b", height_threshold_m="$6", height_multiplier="$7", upper_garage_factor="$9",
                             doubled="b.floor_h > CAST($6 AS numeric)") in counted
    assert basement_factor_sql("b", basement_garage_factor="$10", basement_plant_factor="$11",
                               basement_commercial_factor="$12") in counted
    assert doubled_sql("b", height_threshold_m="$6") == (
        "COALESCE(CAST($6 AS numeric) < ANY(b.storey_hs), b.floor_h > CAST($6 AS numeric))")


def test_storeys_unnest_only_with_storey_heights() -> None:
    """A building without storey heights takes the first branch: floor_h, no array unnested; one with neither
    storey heights, garages nor a basement the short way, floor area × the height factor."""
    factor = storey_factor_sql("g")
    assert factor.startswith("CASE WHEN g.storey_hs IS NULL THEN CASE WHEN g.floor_h > ")
    assert factor.index("unnest(") > factor.index(" ELSE (SELECT")
    counted = counted_floor_area_sql("g")
    short = ("CASE WHEN g.storey_hs IS NULL AND g.garage_floors IS NULL AND g.basement_floors IS NULL THEN "
             "COALESCE(g.floor_area::float8, ST_Area(g.geom) * g.floors) * CASE WHEN g.floor_h > "
             "CAST(:height_threshold_m AS numeric) THEN CAST(:height_multiplier AS float8) ELSE 1 END ELSE ")
    assert short in counted and counted.index(short) < counted.index("unnest(")


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


@pytest.mark.parametrize("make", [
    lambda: parcel_far_sql("x"),
    lambda: parcel_far_sql("p; DELETE FROM parcels"),
    lambda: parcel_far_sql("p", height_threshold_m="8"),
    lambda: parcel_far_sql("p", count_illegal="false"),
    lambda: parcel_far_sql("p", upper_garage_factor="0.5"),
])
def test_the_roll_up_takes_only_whitelisted_aliases_and_bind_parameters(make) -> None:
    with pytest.raises(ValueError, match="not whitelisted|not a bind parameter"):
        make()


def _statements() -> dict[str, str]:
    """Every map statement that rolls the FAR rule up per parcel, as text."""
    return {"tile parcels": layers.PARCELS_SQL, "block card": queries.BLOCK_CARD.text,
            "parcel card": queries.PARCEL_CARD.text, "totals": queries.TOTALS.text,
            "report map": report_map.BLOCKS_SQL.text, "svg town": svgmap._FAILING.text,
            "svg block": svgmap._PARCELS.text}


@pytest.mark.parametrize("name", list(_statements()))
def test_map_statements_use_the_one_roll_up(name: str) -> None:
    """Each map statement holds the roll-up once, and no counted floor area outside it."""
    statement = _statements()[name]
    ph = roll_up_placeholders(positional(5)) if name == "tile parcels" else {}
    roll_up = parcel_far_sql("p", **ph)
    counted = counted_floor_area_sql("g", **ph)
    assert statement.count(roll_up) == 1
    assert statement.count(counted) == roll_up.count(counted) == 2  # counted_m2, and in far
    assert "NULLIF(ST_Area" not in statement.replace(roll_up, "")


def test_planning_statements_divide_with_the_roll_ups_ratio() -> None:
    """The figures' 容积率, per parcel and Σ ÷ Σ, is rule_sql.far_sql of the summed counted floor area."""
    ratio = far_sql("s.far_floor_area_m2", "s.land_area_m2")
    assert ratio in sql.PARCEL_FIGURES["city"].text and ratio in sql.AREA_FIGURES["town"].text
    counted = f"COALESCE(sum({counted_floor_area_sql('g')}), 0)"
    assert f"{far_sql(counted, 'ST_Area(p.geom)')} AS far" in parcel_far_sql("p")
    assert sql._COUNTED in sql.PARCEL_FIGURES["city"].text


def test_rules_are_always_handed_in() -> None:
    """No default that reads the environment: the caller passes settings.rules."""
    for fn, name in ((rule_params, "rules"), (layers.TileLayer.params, "rules"), (report_map.town_map, "rules")):
        assert inspect.signature(fn).parameters[name].default is inspect.Parameter.empty, fn
    rules = PlanningRules(far_min=1.25, height_threshold_m=7.5, height_multiplier=1.5, count_illegal=True,
                          basement_commercial_factor=0.7)
    assert tuple(rule_params(rules)) == RULE_PARAMS
    codes, floors = far_basis.table_params(rules)  # issue 14: the warehouse floor and the national table follow
    assert layers.TILE_LAYERS["parcels"].params(14, 1, 2, 4549, rules) == (
        14, 1, 2, 4549, 1.25, Decimal("7.5"), 1.5, True, 0.5, 0.0, 0.0, 0.7, None, codes, floors)
    assert layers.TILE_LAYERS["blocks"].params(14, 1, 2, 4549, rules) == (14, 1, 2, 4549)
