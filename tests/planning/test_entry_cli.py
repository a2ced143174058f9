"""``renewal check entry``: the entry check of tests/planning/test_entry.py on the terminal (exit 0 pass, 1 fail,
2 on errors), and ``renewal check RULE`` still being the rules check beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.db.engine import make_engine
from tests.planning import cases

P = cases.P
# the hand-worked projects of tests/planning/test_entry.py as options
PASSING = ["--invest", "60000000", "--floor-area", "24000", "--storeys", "4", "--storey-heights", "9,4.5,4.5,4.5",
           "--footprint", "6000", "--green", "1000", "--supporting-land", "500", "--supporting-floor", "2400",
           "--tax", "2400000", "--output", "90000000", "--industry", "C3481"]
FAILING = ["--invest", "30000000", "--floor-area", "15000", "--storeys", "3", "--footprint", "2500", "--green",
           "2500", "--supporting-land", "1500", "--dormitory-land", "500", "--supporting-floor", "4500",
           "--dormitory-floor", "1500", "--tax", "1500000", "--output", "20000000", "--industry", "2511"]
THRESHOLDS = {"RENEWAL_RULE_ENTRY_INVEST_PER_MU_WAN_MIN": "300", "RENEWAL_RULE_ENTRY_TAX_PER_MU_WAN_MIN": "15",
              "RENEWAL_RULE_ENTRY_NEGATIVE_LIST": '["C25", "C31"]'}


@pytest.fixture(scope="module")
def env(databases, base_settings, tmp_path_factory):
    url = databases.create()
    engine = make_engine(base_settings, url)
    cases.load(engine, tmp_path_factory.mktemp("entry_cli"))
    engine.dispose()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RENEWAL_RULE_")}
    return {**clean, "DATABASE_URL": url, "COLUMNS": "200"}


def renewal(env, *args, **extra_env):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env={**env, **extra_env}, capture_output=True,
                          text=True, timeout=120)


def test_a_passing_project_exits_0_with_the_apis_body(env):
    run = renewal(env, "check", "entry", "--parcel", P["A4b"], *PASSING, "--format", "json", **THRESHOLDS)
    assert run.returncode == 0, run.stderr
    body = json.loads(run.stdout)
    assert (body["parcel_code"], body["outcome"], body["failed"], body["not_checked"]) == (P["A4b"], "pass", [], [])
    assert body["figures"]["far"] == 3.0 and body["figures"]["land_area_mu"] == 15.0


def test_a_failing_project_exits_1_with_its_shortfalls(env):
    run = renewal(env, "check", "entry", "--parcel", P["A4b"], *FAILING, "--format", "json", **THRESHOLDS)
    assert run.returncode == 1, run.stderr
    body = json.loads(run.stdout)
    assert body["outcome"] == "fail" and len(body["failed"]) == 8
    short = {t["id"]: t["shortfall"] for t in body["thresholds"]}
    assert short["invest_intensity_min"] == 15_000_000.0 and short["far_min"] == 5_000.0
    assert short["tax_per_mu_min"] == 750_000.0 and short["building_coefficient_min"] == 500.0


def test_the_table_names_each_threshold_and_says_what_is_not_checked(env):
    run = renewal(env, "check", "entry", "--parcel", P["A4b"], *FAILING)  # default thresholds: none published
    assert run.returncode == 1, run.stderr
    out = " ".join(run.stdout.split())
    for name in ("投资强度 investment intensity", "容积率 plot ratio (FAR)", "建筑系数 building coefficient",
                 "绿地率 green ratio", "亩均税收 expected tax per 亩", "产业负面清单 industry negative list"):
        assert name in out
    assert out.count("not checked") == 3
    assert "5,000.00 m² counted floor area" in out and "国土资发〔2008〕24号" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--parcel", "NOPE", *PASSING], "no parcel with code 'NOPE' (--parcel)"),
    (["--parcel", P["A4b"], *PASSING, "--footprint", "20000"], "exceeds the land of parcel"),
    (["--parcel", P["A4b"], *PASSING[:6], *PASSING[8:], "--storey-heights", "9,4.5"],
     "storey_heights_m gives 2 heights for 4 storeys (--storey-heights)"),
    (["--parcel", P["A4b"], *PASSING[:-2], "--industry", "Z99"], "(--industry)"),
    (["--parcel", P["A4b"], *PASSING, "--format", "csv"], "unknown format 'csv'"),
    (["--parcel", P["A4b"], *PASSING, "--green", "-5"], "Invalid value for '--green'"),
])
def test_errors_exit_2_naming_the_option(env, args, message):
    run = renewal(env, "check", "entry", *args)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert message in " ".join(run.stderr.split())


def test_check_rule_is_still_the_rules_check(env):
    run = renewal(env, "check", "far_min", "--block", cases.BC, "--format", "json")  # C1 is exempt
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)[0]["rule"]["id"] == "far_min"
    same = renewal(env, "check", "rules", "far_min", "--block", cases.BC, "--format", "json")
    assert same.returncode == 0 and json.loads(same.stdout) == json.loads(run.stdout)
    every = renewal(env, "check", "--block", cases.BC, "--format", "json")  # options first: every rule
    assert {p["rule"]["id"] for p in json.loads(every.stdout)} >= {"far_min", "old_block"}
    helped = renewal(env, "check", "--help")
    assert helped.returncode == 0 and "entry" in helped.stdout and "rules" in helped.stdout
