"""Rule configuration: the defaults of docs/rules.md §5, RENEWAL_RULE_* overrides, and the rule_version they give."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.planning.config import PlanningRules


def test_defaults_are_domain_numbers():
    r = PlanningRules()
    assert (r.far_min, r.height_threshold_m, r.height_multiplier, r.count_illegal) == (2.0, 8.0, 2.0, False)
    assert (r.supporting_land_national_max, r.supporting_floor_national_max) == (0.07, 0.15)
    assert (r.supporting_land_max, r.supporting_floor_max) == (0.15, 0.30)
    assert (r.building_coefficient_min, r.green_ratio_max) == (0.30, 0.20)
    assert (r.old_block_tax_per_mu_wan, r.target_tax_per_mu_wan) == (5.0, 15.0)
    assert r.supporting_uses == ("office", "dormitory", "canteen") and r.dormitory_uses == ("dormitory",)
    assert r.rule_version == "rules-1"


def test_environment_overrides_change_the_version(monkeypatch):
    monkeypatch.setenv("RENEWAL_RULE_FAR_MIN", "1.5")
    monkeypatch.setenv("RENEWAL_RULE_TARGET_STATUSES", '["in_progress", "accepted"]')
    r = PlanningRules()
    assert r.far_min == 1.5 and r.target_statuses == ("in_progress", "accepted")
    assert r.rule_version.startswith("rules-1+") and len(r.rule_version) == len("rules-1+") + 8
    assert PlanningRules(far_min=1.5, target_statuses=("in_progress", "accepted")).rule_version == r.rule_version
    monkeypatch.setenv("RENEWAL_RULE_FAR_MIN", "2.0")
    monkeypatch.delenv("RENEWAL_RULE_TARGET_STATUSES")
    assert PlanningRules().rule_version == "rules-1"  # the default value set explicitly is still the default


def test_invalid_values_are_refused():
    with pytest.raises(ValidationError):
        PlanningRules(height_multiplier=0.5)
    with pytest.raises(ValidationError):
        PlanningRules(green_ratio_max=1.5)
