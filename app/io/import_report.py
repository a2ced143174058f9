"""The report of an import: one finding per feature (or about the file), counts, and the errors that refuse it.

An import collects every finding in an :class:`ImportReport` and refuses the file as a whole: with
:class:`ImportConflict` (409) when the only errors are codes that already exist in ``append`` mode, with
:class:`ImportRejected` (422) otherwise. Both carry the report, which the API and the CLI show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from app.errors import Conflict, InvalidFile

Severity = Literal["error", "repaired", "warning"]

REPORT_ISSUES_MAX = 1000
"""Findings listed in a report's JSON (the counts are always complete)."""


def feature_name(n: int | None, code: object) -> str:
    """How a message names a feature: its 1-based position in the file and its code."""
    return f"feature {n}" + (f" (code {code})" if code not in (None, "") else "")


@dataclass
class Issue:
    """One finding about one feature (``n`` is its 1-based position in the file) or about the file."""

    n: int | None
    code: str | None
    field: str | None
    severity: Severity
    message: str

    def text(self) -> str:
        """The finding as one line naming the feature."""
        return f"{feature_name(self.n, self.code)}: {self.message}" if self.n is not None else self.message


@dataclass
class ImportReport:
    """What an import did or, in a dry run, would do, with the findings per feature."""

    layer: str
    mode: str
    dry_run: bool
    strict: bool
    file: str
    encoding: str | None = None
    crs: str | None = None
    features: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    moved_children: int = 0
    issues: list[Issue] = field(default_factory=list)

    def add(self, n: int | None, code: Any, fld: str | None, severity: Severity, message: str) -> None:
        """Record a finding."""
        self.issues.append(Issue(n, None if code is None else str(code), fld, severity, message))

    @property
    def errors(self) -> list[Issue]:
        """Findings that stop the import."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def repaired(self) -> list[Issue]:
        """Geometries repaired with ST_MakeValid."""
        return [i for i in self.issues if i.severity == "repaired"]

    @property
    def warnings(self) -> list[Issue]:
        """Findings that do not stop the import."""
        return [i for i in self.issues if i.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (at most 1,000 findings listed)."""
        body = {k: v for k, v in asdict(self).items() if k != "issues"}
        body["ok"] = not self.errors
        body["counts"] = {"errors": len(self.errors), "repaired": len(self.repaired), "warnings": len(self.warnings)}
        body["issues"] = [asdict(i) | {"text": i.text()} for i in self.issues[:REPORT_ISSUES_MAX]]
        body["issues_truncated"] = len(self.issues) > REPORT_ISSUES_MAX
        return body


class ImportRejected(InvalidFile):
    """The file has errors; nothing was written. ``report`` lists every finding."""

    def __init__(self, report: ImportReport) -> None:
        errors = report.errors
        first = errors[0]
        more = f" (and {len(errors) - 1} more errors; see the report)" if len(errors) > 1 else ""
        super().__init__(first.text() + more, zh=f"文件有 {len(errors)} 处错误，未导入任何数据（详见报告）。第一处："
                         f"{first.text()}", field=first.field)
        self.report = report


class ImportConflict(Conflict):
    """Codes in the file already exist (mode append); nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        errors = report.errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(errors[0].text() + more, zh=f"文件中有 {len(errors)} 个编号已存在，未导入任何数据。第一个："
                         f"{errors[0].text()}", field="code")
        self.report = report
