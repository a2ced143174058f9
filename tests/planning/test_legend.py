"""The maps' one style (app.planning.legend): thresholds from the rules, bands split at the FAR floor, the
labels the page shows, and GET /api/map/legend serving what the application was configured with."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.api import create_app
from app.models import BLOCK_STATUSES, RENOVATION_MODES
from app.planning import legend
from app.planning.config import PlanningRules
from app.settings import Settings


def test_default_legend_is_the_maps_look() -> None:
    """With the default rules the bands, labels and thresholds are those the map always showed."""
    body = legend.legend(PlanningRules())
    assert body["thresholds"] == {"far_min": 2.0, "old_block_tax_per_mu_wan": 5.0, "target_tax_per_mu_wan": 15.0}
    assert [b["label"] for b in body["far_bands"]] == ["< 0.5", "0.5 – 1.0", "1.0 – 1.5", "1.5 – 2.0", "2.0 – 2.5",
                                                       "2.5 – 3.0", "≥ 3.0"]
    assert [b["upper"] for b in body["far_bands"]] == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, None]
    assert [b["passes"] for b in body["far_bands"]] == [False] * 4 + [True] * 3
    assert [b["zh"] for b in body["tax_bands"]] == ["5万及以下（入选线）", "5万–15万", "≥15万（2026目标）"]
    assert [b["tone"] for b in body["tax_bands"]] == ["bad", "mid", "good"]
    assert body["compliance"]["fail"]["line"] == "#a50f15" and body["compliance"]["fail"]["width"] == 1.3
    assert [(s["code"], s["zh"], s["en"]) for s in body["statuses"]] == list(BLOCK_STATUSES)
    assert [(s["code"], s["zh"], s["en"]) for s in body["modes"]][:-1] == list(RENOVATION_MODES)
    assert body["modes"][-1]["code"] == "none"


@pytest.mark.parametrize("far_min", [2.0, 1.5, 1.2, 0.8])
def test_far_bands_split_at_the_floor(far_min: float) -> None:
    """Reds below the configured floor, blues from it on; a parcel exactly at the floor is blue."""
    rules = PlanningRules(far_min=far_min)
    bands = legend.far_bands(rules)
    assert [b.upper for b in bands if not b.passes][-1] == far_min
    assert [b.lower for b in bands if b.passes][0] == far_min
    assert legend.far_colour(far_min, rules) == legend.FAR_BAND_COLOURS[4] == legend.PASS.colour
    assert legend.far_colour(far_min - 0.01, rules) == legend.FAR_BAND_COLOURS[3]
    assert legend.far_colour(None, rules) == legend.FAR_BAND_COLOURS[0]
    assert legend.far_colour(100.0, rules) == legend.FAR_BAND_COLOURS[-1]
    assert all(a.upper == b.lower for a, b in zip(bands, bands[1:], strict=False))


def test_tax_bands_follow_the_rules() -> None:
    rules = PlanningRules(old_block_tax_per_mu_wan=4.0, target_tax_per_mu_wan=12.5)
    assert [(b.upper, b.zh, b.en) for b in legend.tax_bands(rules)] == [
        (4.0, "4万及以下（入选线）", "4 or less (entry line)"), (12.5, "4万–12.5万", "4 – 12.5"),
        (None, "≥12.5万（2026目标）", "≥ 12.5 (2026 target)")]


def test_every_colour_is_a_hex_colour() -> None:
    body = legend.legend(PlanningRules())
    colours = [s["colour"] for key in ("statuses", "modes", "flags", "buildings") for s in body[key]]
    colours += [b["colour"] for b in body["far_bands"]] + list(body["charts"].values()) + [body["unknown"]]
    colours += [body["compliance"][k][f] for k in ("pass", "fail") for f in ("colour", "line")]
    assert colours and all(len(c) == 7 and c[0] == "#" and int(c[1:], 16) >= 0 for c in colours)


def test_legend_endpoint_serves_the_configured_thresholds(db_url: str) -> None:
    rules = PlanningRules(far_min=1.5, old_block_tax_per_mu_wan=4.0, target_tax_per_mu_wan=12.0)
    settings = Settings(database_url=db_url, rules=rules)
    with TestClient(create_app(settings)) as client:
        resp = client.get("/api/map/legend")
        spec = client.get("/openapi.json").json()
    assert resp.status_code == 200
    body = resp.json()
    assert body["thresholds"] == {"far_min": 1.5, "old_block_tax_per_mu_wan": 4.0, "target_tax_per_mu_wan": 12.0}
    assert body["rule_version"] == rules.rule_version != PlanningRules().rule_version
    assert [b["lower"] for b in body["far_bands"] if b["passes"]][0] == 1.5
    assert [b["upper"] for b in body["tax_bands"]] == [4.0, 12.0, None]
    assert body == legend.legend(rules)
    operation = spec["paths"]["/api/map/legend"]["get"]
    assert operation["summary"] and "thresholds" in operation["description"]
