"""The sample's synthetic programme history and baselines: deterministic, consistent, idempotent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from app.db.engine import make_engine
from app.io import sample_load
from app.planning.config import PlanningRules
from app.programme import progress, sample
from app.programme.config import ProgrammeRules

TODAY = dt.date(2026, 11, 27)


def test_step_dates_are_pure_and_in_order():
    dates, works = sample.step_dates("QK107-001", "accepted", 2023, TODAY)
    assert dates == sample.step_dates("QK107-001", "accepted", 2023, TODAY)[0]
    assert len(dates) == 4 and dates == sorted(dates) and dates[-1] <= TODAY
    assert works is not None and dates[2] <= works <= dates[3]
    assert sample.step_dates("QK107-001", "listed", None, TODAY) == ([], None)
    early, _ = sample.step_dates("QK107-002", "in_progress", 2026, dt.date(2022, 6, 1))
    assert all(d <= dt.date(2022, 6, 1) for d in early)


@pytest.fixture(scope="module")
def sample_db(databases, base_settings) -> Iterator[Engine]:
    url = databases.create()
    engine = make_engine(base_settings, url, statement_timeout_ms=0)
    sample_load.load(engine, scale=0.02, seed=42)
    yield engine
    engine.dispose()


def test_seed_sample(sample_db):
    # `renewal sample` seeds the history and baselines itself (sample_load); seeding again adds nothing
    with sample_db.begin() as conn:
        assert sample.seed(conn, TODAY) == {"blocks": 0, "history_rows": 0, "baselines": 0}
    with sample_db.connect() as conn:
        baselines = conn.execute(text("SELECT count(*) FROM enterprise_baselines")).scalar_one()
        mismatched = conn.execute(text("""
            SELECT count(*) FROM blocks b
            WHERE b.status <> COALESCE((SELECT h.to_status FROM block_status_history h WHERE h.block_id = b.id
                                        ORDER BY h.changed_on DESC, h.id DESC LIMIT 1), 'listed')""")).scalar_one()
        above = conn.execute(text("SELECT count(*) FROM enterprises WHERE above_scl")).scalar_one()
        years = conn.execute(text("SELECT min(above_scl_since), max(above_scl_since) FROM enterprise_baselines")).one()
        wide = PlanningRules(target_statuses=("in_progress", "accepted"))  # the 0.02 sample has no accepted block
        result = progress.progress(conn, wide, ProgrammeRules(), TODAY)
    assert mismatched == 0 and baselines == above
    assert 2012 <= years[0] and years[1] <= 2025
    assert result.city.undated_blocks == 0 and result.city.renovated_area_mu > 0
    assert 0 < result.city.new_above_scale_firms <= result.city.above_scale_firms
    assert result.city.unknown_baseline_firms == 0
