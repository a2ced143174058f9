"""``renewal check``: the API's results on the terminal; exit 0 with no failure, 1 with failures, 2 on errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from app.db.engine import make_engine
from tests.planning import cases

P = cases.P


@pytest.fixture(scope="module")
def env(databases, base_settings, tmp_path_factory):
    url = databases.create()
    engine = make_engine(base_settings, url)
    cases.load(engine, tmp_path_factory.mktemp("cli"))
    engine.dispose()
    return {**os.environ, "DATABASE_URL": url, "COLUMNS": "200"}


def check(env, *args):
    return subprocess.run([sys.executable, "-m", "app.cli", "check", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_json_is_the_api_body_and_failures_exit_1(env):
    run = check(env, "far_min", "--town", cases.TOWN, "--format", "json")
    assert run.returncode == 1, run.stderr
    (page,) = json.loads(run.stdout)
    assert page["total"] == 5 and page["rule"]["id"] == "far_min"
    assert [i["code"] for i in page["items"]] == [P["A4b"], P["A4a"], P["A2"], P["B1"], P["A3"]]
    assert page["items"][0]["shortfall"] == 20_000.0
    assert "附件1 控制指标应用说明" in page["rule"]["source"]  # the clause, as the rule defines it (issue 17)
    assert all(i["source"] == page["rule"]["source"] for i in page["items"])
    green = json.loads(check(env, "green_ratio_max", "--format", "json").stdout)[0]
    assert "暂定值 (provisional, set by RENEWAL_RULE_GREEN_RATIO_MAX)" in green["rule"]["source"]


def test_no_failure_exits_0(env):
    run = check(env, "far_min", "--block", cases.BC, "--format", "json")  # C1 is exempt
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)[0]["total"] == 0


def test_every_rule_as_json_and_one_rule_as_a_csv_list(env):
    run = check(env, "--town", cases.TOWN, "--format", "json", "--limit", "0")
    assert run.returncode == 1, run.stderr
    per_rule = {page["rule"]["id"]: page["total"] for page in json.loads(run.stdout)}
    # building coefficient: A2, A4a, A4b in QK113-001 and C1 (1 600 / 10 000 = 16 %) in QK113-003
    assert per_rule == {"far_min": 5, "supporting_floor_max": 2, "supporting_land_max": 1,
                        "building_coefficient_min": 4, "green_ratio_max": 2, "old_block": 1, "target_tax_per_mu": 1}
    listed = check(env, "far_min", "--town", cases.TOWN, "--format", "csv")  # the list file (tests/api/test_lists)
    assert listed.returncode == 1, listed.stderr
    rows = list(csv.DictReader(io.StringIO(listed.stdout.removeprefix("\ufeff"))))
    a2 = next(row for row in rows if row["宗地编号 (parcel code)"] == P["A2"])
    assert a2["缺口 m² (shortfall, counted floor area)"] == "12000.00" and a2["依据 (rule basis)"] == "programme"


def test_table_by_default(env):
    run = check(env, "far_min", "--limit", "2")
    assert run.returncode == 1, run.stderr
    assert "far_min: 容积率下限 plot-ratio floor (≥ 2); city: 5 failing, 2 shown" in run.stdout
    assert P["A4b"] in run.stdout and "20,000.00" in run.stdout and P["A2"] not in run.stdout
    assert "[plan]" in run.stdout and "国土资发〔2008〕24号" in run.stdout  # sources as published
    assert ".md" not in run.stdout and "§" not in run.stdout  # never a developer's note (issue 17)


def test_outcomes_in_the_table(env):
    run = check(env, "far_min", "--town", cases.TOWN, "--outcome", "all", "--limit", "0")
    assert run.returncode == 1, run.stderr
    assert "town 330282113: 7 checked, 7 shown" in run.stdout and "exempt" in run.stdout
    passing = check(env, "far_min", "--town", cases.TOWN, "--outcome", "pass")
    assert passing.returncode == 0 and "1 passing" in passing.stdout and P["A1"] in passing.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("far",), "unknown rule 'far'; rules: far_min,"),
    (("far_min", "--town", "330282999"), "no town with code '330282999'"),
    (("far_min", "--format", "xml"), "unknown format 'xml'; formats: table, csv, xlsx, json"),
])
def test_errors_exit_2(env, args, message):
    run = check(env, *args)
    assert run.returncode == 2
    assert message in " ".join(run.stderr.split())


# ---------------------------------------------------------------- the CLI package: settings from the context
def test_serve_runs_stock_uvicorn_with_the_context_settings(monkeypatch):
    import uvicorn
    from typer.testing import CliRunner

    from app.cli import cli
    from app.settings import Settings

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    settings = Settings(host="10.0.0.1", port=8123, workers=3)
    run = CliRunner().invoke(cli, ["serve", "--port", "9000"], obj=settings)
    assert run.exit_code == 0, run.output
    # uvicorn's own protocol classes, access log and proxy headers: as `uvicorn app.main:app` runs
    assert calls == [(("app.main:app",), {"host": "10.0.0.1", "port": 9000, "workers": 3, "log_level": "info"})]


def test_commands_read_the_settings_on_the_context():
    from typer.testing import CliRunner

    from app.cli import cli
    from app.settings import Settings

    settings = Settings(database_url="postgresql://nobody@127.0.0.1:9/elsewhere", db_connect_timeout_s=1)
    run = CliRunner().invoke(cli, ["check", "far_min", "--format", "json"], obj=settings)
    assert run.exit_code == 3
    assert "cannot reach the database at postgresql+psycopg://nobody@127.0.0.1:9/elsewhere" in run.output


def test_settings_are_built_only_in_the_root_callback():
    import ast
    from pathlib import Path

    import app.cli

    readers = {"get_settings", "get_rules", "get_programme_rules", "get_limits"}
    found = set()
    for path in Path(app.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in readers:
                    found.add((path.name, name))
    assert found == {("__init__.py", "get_settings")}
