"""Compliance results for reports and the terminal: every rule's failing parcels or blocks (the API's numbers).

The data only; ``renewal check`` renders it as a table, JSON, or a list file (:mod:`app.planning.lists`,
:mod:`app.cli.check`). :func:`cited` words the rules' sources for users: the published documents, and
"暂定值 (provisional)" with the setting that changes an assumed value, never a note meant for developers.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

from sqlalchemy import Connection

from app.errors import InvalidParameter
from app.planning import lists, metrics
from app.planning.config import PlanningRules
from app.planning.rules import RULES, RuleResult, get_rule

FORMATS = ("table", "csv", "xlsx", "json")
"""Output formats of ``renewal check``: a table and JSON on the terminal, the list as CSV or XLSX."""

T = TypeVar("T")

# Settings that change a threshold the rules' sources mark as assumed (provisional until the bureau confirms).
PROVISIONAL_SETTINGS = {
    "green_ratio_max": "RENEWAL_RULE_GREEN_RATIO_MAX",
    "old_block": "RENEWAL_RULE_OLD_BLOCK_MIN_FLAGS",
    "target_tax_per_mu": "RENEWAL_RULE_TARGET_STATUSES",
}
# A reference to a project note: "(NOTES.md §1, §4)" or a bare "NOTES.md §6" (any upper-case *.md file).
_NOTE_REFERENCE = re.compile(r"\s*\([^()]*\b[A-Z][A-Z_]*\.md\b[^()]*\)"
                             r"|\s*\b[A-Z][A-Z_]*\.md(?:\s*§\s*\d+(?:\s*,\s*§\s*\d+)*)?")
_ASSUMED = re.compile(r"\bassumed(?: until confirmed)?\b")


def public_source(rule_id: str, source: str) -> str:
    """A rule's source as users read it: references to internal notes dropped, an assumption said as
    "暂定值 (provisional, <the setting that changes it>)"."""
    text = _NOTE_REFERENCE.sub("", source)
    setting = PROVISIONAL_SETTINGS.get(rule_id)
    return _ASSUMED.sub(f"暂定值 (provisional{', set by ' + setting if setting else ''})", text).strip()


def cited(value: T) -> T:
    """``value`` (metrics, a compliance page, or lists of them) with every rule source worded by
    :func:`public_source`; changed in place and returned."""
    _cite(value, set())
    return value


def _cite(value: Any, seen: set[int]) -> None:
    """Walk dataclasses and lists, rewording the ``source`` of rule results and rule descriptions."""
    if isinstance(value, list):
        for item in value:
            _cite(item, seen)
        return
    if not dataclasses.is_dataclass(value) or isinstance(value, type) or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, (RuleResult, metrics.RuleInfo)):
        rule_id = value.rule if isinstance(value, RuleResult) else value.id
        value.source = public_source(rule_id, value.source)
    for f in dataclasses.fields(value):
        child = getattr(value, f.name)
        if isinstance(child, list) or dataclasses.is_dataclass(child):
            _cite(child, seen)


def check(conn: Connection, rules: PlanningRules, rule_id: str | None, *, town: str | None = None,
          block: str | None = None, limit: int = 20, outcome: str = "fail") -> list[metrics.CompliancePage]:
    """The compliance page of one rule, or of every rule when ``rule_id`` is None; ``limit`` 0 = all.

    ``outcome``: the failures (default, worst first), the passes, or every result (:mod:`app.planning.lists`).
    """
    ids = [get_rule(rule_id).id] if rule_id is not None else list(RULES)
    size = limit if limit > 0 else 2**31 - 1
    return [cited(lists.compliance_list(conn, rules, r, town=town, block=block, outcome=outcome, limit=size))
            for r in ids]


def check_format(fmt: str) -> str:
    """``fmt`` if it is a known output format of ``renewal check``, else an error naming them."""
    if fmt not in FORMATS:
        raise InvalidParameter(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}", field="format")
    return fmt
