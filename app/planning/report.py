"""Compliance results for reports and the terminal: every rule's failing parcels or blocks (the API's numbers).

The data only; ``renewal check`` renders it as a table, JSON, or a list file (:mod:`app.planning.lists`,
:mod:`app.cli.check`). The rules' sources are worded for users where they are defined
(:data:`app.planning.rules.RULES`): the published document and clause, or "暂定值 (provisional)" with the setting
that changes the value.
"""

from __future__ import annotations

from sqlalchemy import Connection

from app.errors import InvalidParameter
from app.planning import lists, metrics
from app.planning.config import PlanningRules
from app.planning.rules import RULES, get_rule

FORMATS = ("table", "csv", "xlsx", "json")
"""Output formats of ``renewal check``: a table and JSON on the terminal, the list as CSV or XLSX."""


def check(conn: Connection, rules: PlanningRules, rule_id: str | None, *, town: str | None = None,
          block: str | None = None, limit: int = 20, outcome: str = "fail",
          basis: str | None = None) -> list[metrics.CompliancePage]:
    """The compliance page of one rule, or of every rule when ``rule_id`` is None; ``limit`` 0 = all.

    ``outcome``: the failures (default, worst first), the passes, or every result (:mod:`app.planning.lists`);
    ``basis``: only results of that ``rule_basis``.
    """
    ids = [get_rule(rule_id).id] if rule_id is not None else list(RULES)
    size = limit if limit > 0 else 2**31 - 1
    return [lists.compliance_list(conn, rules, r, town=town, block=block, outcome=outcome, limit=size, basis=basis)
            for r in ids]


def check_format(fmt: str) -> str:
    """``fmt`` if it is a known output format of ``renewal check``, else an error naming them."""
    if fmt not in FORMATS:
        raise InvalidParameter(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}",
                               zh=f"未知的格式 {fmt!r}；可选：{'、'.join(FORMATS)}", field="format")
    return fmt
