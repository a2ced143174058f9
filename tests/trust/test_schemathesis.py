"""A bounded schemathesis run over the whole OpenAPI document: no 5xx, no response that breaks its own schema.

Every operation gets ``MAX_EXAMPLES`` generated requests (valid and invalid ones), once anonymously and once
with an admin's token (writes included: users, imports, exemptions, block changes, in a throwaway database).
Checks: no server error; status codes the document declares come with the declared body schema, content
type and headers. Examples are derandomised so that a failure reproduces.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from app.api import create_app
from app.db.engine import make_engine
from app.settings import get_settings
from tests.conftest import bearer
from tests.trust.conftest import seed

MAX_EXAMPLES = 40
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, response_headers_conformance]


@pytest.fixture(scope="module")
def st_settings(databases, base_settings):
    """A seeded database of its own: the admin run writes into it."""
    url = databases.create()
    engine = make_engine(base_settings, url)
    try:
        seed(engine)
    finally:
        engine.dispose()
    return base_settings.model_copy(update={"database_url": url})


@pytest.fixture(scope="module")
def st_app(st_settings) -> Iterator[FastAPI]:
    """The application on that database; schemathesis starts its lifespan on the first request."""
    from schemathesis.python import asgi

    app = create_app(st_settings)
    yield app
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def admin_headers(st_settings) -> dict[str, str]:
    """An admin's token (the account ``ada`` is seeded)."""
    return bearer(st_settings, "admin", "ada")


# The document is read from an application built with the default settings (building one touches no
# database); the requests go to the module's application (``app=`` of ``call_and_validate``).
_document_app = create_app(get_settings())
schema = schemathesis.openapi.from_dict(_document_app.openapi())
schema.app = _document_app  # makes the transport ASGI; the requests go to ``st_app``
bounded = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


@schema.parametrize()
@bounded
def test_anonymous(case: schemathesis.Case, st_app: FastAPI) -> None:
    case.call_and_validate(app=st_app, checks=CHECKS)


@schema.parametrize()
@bounded
def test_as_admin(case: schemathesis.Case, st_app: FastAPI, admin_headers: dict[str, str]) -> None:
    case.call_and_validate(app=st_app, headers=admin_headers, checks=CHECKS)
