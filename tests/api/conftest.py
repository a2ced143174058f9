"""Fixtures of the API tests: a throwaway database with the 0.02 sample (seed 42) per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from app.db.engine import make_engine
from app.settings import Settings
from tests.conftest import Databases
from tests.conftest import sample_settings as sample_settings_for


@pytest.fixture(scope="module")
def sample_settings(databases: Databases, base_settings: Settings) -> Settings:
    """Settings on this module's own database holding the 0.02 sample."""
    return sample_settings_for(databases, base_settings)


@pytest.fixture(scope="module")
def db(sample_settings: Settings) -> Iterator[Engine]:
    """An engine on this module's sample database."""
    eng = make_engine(sample_settings)
    yield eng
    eng.dispose()
