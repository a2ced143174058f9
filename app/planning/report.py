"""Compliance results for reports and the terminal: every rule's failing parcels or blocks (the API's numbers).

The data only; ``renewal check`` renders it as a table, CSV or JSON (:mod:`app.cli.check`).
"""

from __future__ import annotations

from sqlalchemy import Connection

from app.errors import InvalidParameter
from app.planning import metrics
from app.planning.config import PlanningRules
from app.planning.rules import RULES, get_rule

FORMATS = ("table", "csv", "json")


def check(conn: Connection, rules: PlanningRules, rule_id: str | None, *, town: str | None = None,
          block: str | None = None, limit: int = 20) -> list[metrics.CompliancePage]:
    """The compliance page of one rule, or of every rule when ``rule_id`` is None; ``limit`` 0 = all."""
    ids = [get_rule(rule_id).id] if rule_id is not None else list(RULES)
    size = limit if limit > 0 else 2**31 - 1
    return [metrics.compliance(conn, rules, r, town=town, block=block, limit=size) for r in ids]


def check_format(fmt: str) -> str:
    """``fmt`` if it is a known output format of ``renewal check``, else an error naming them."""
    if fmt not in FORMATS:
        raise InvalidParameter(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}", field="format")
    return fmt
