"""Import a layer from a file in one transaction: all features or none, with a report per feature.

The steps live in their own modules: ``app.io.reading`` opens the file (a zip unpacked safely) and reads it,
``app.io.validation`` checks every feature and prepares the rows in the storage CRS (read from the
database), ``app.io.staging`` stages them in SQL, repairs, resolves parents, checks them in space and
writes them, and ``app.io.import_report`` holds the report and the errors that refuse a file.

Modes: ``append`` (an existing code is a conflict), ``upsert`` (existing codes are updated, others
inserted) and ``replace`` (upsert, and features of the layer in the towns the file covers that the file
does not hold are deleted; their children are moved by location to the new features). ``dry_run`` does
everything and rolls back, reporting what would change. ``strict`` refuses invalid geometry instead of
repairing it, and makes warnings errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.db.schema import storage_srid
from app.errors import Conflict, InvalidFile, InvalidParameter, RenewalError
from app.io import staging
from app.io.import_report import ImportConflict, ImportRejected, ImportReport
from app.io.layers import Layer, get_layer
from app.io.reading import opened, read_layer, without_paths
from app.io.safety import IOLimits
from app.io.validation import prepare

__all__ = ["MODES", "ImportConflict", "ImportHooks", "ImportRejected", "ImportReport", "Mode", "import_file",
           "import_rows"]

Mode = Literal["append", "upsert", "replace"]
MODES: tuple[str, ...] = ("append", "upsert", "replace")


class ImportHooks(Protocol):
    """What the caller runs inside the import's transaction (``app.auth.imports``: who may import what, and
    the audit row): ``check`` once the file is staged and matched, before anything is written (raise to
    refuse); ``done`` after the write, before commit."""

    def check(self, conn: Connection, layer: Layer, mode: str) -> None:
        """Refuse the import by raising; nothing is written yet."""

    def done(self, conn: Connection, layer: Layer, report: ImportReport) -> None:
        """Record what was written, in the same transaction."""


def _check_mode(mode: str) -> None:
    """Refuse an unknown mode."""
    if mode not in MODES:
        raise InvalidParameter(f"mode must be one of {', '.join(MODES)}, not {mode!r}",
                               zh=f"mode 应为 {'、'.join(MODES)} 之一，而不是 {mode!r}", field="mode")


def import_rows(conn: Connection, layer: Layer, rows: list[tuple[Any, ...]], *, limits: IOLimits,
                mode: str = "append", present: set[str] | None = None, report: ImportReport | None = None,
                strict: bool = True, hooks: ImportHooks | None = None) -> int:
    """Write prepared rows of ``layer`` inside the caller's transaction; returns the number inserted or updated.

    Raises ``ImportConflict`` (append mode, existing codes) or ``ImportRejected`` (other errors); the caller
    rolls back.
    """
    _check_mode(mode)
    report = report or ImportReport(layer.name, mode, False, strict, "")
    present = present if present is not None else {f.name for f in layer.imported_fields}
    staging.stage(conn, layer, rows)
    staging.repair(conn, layer, report)
    staging.resolve_parent(conn, layer, report)
    staging.match(conn, layer)
    if mode == "append":
        singular = layer.name[:-1]
        for n, code in staging.matched(conn, layer):
            report.add(n, code, layer.key, "error", f"a {singular} with code {code!r} already exists")
        conflicts = [i for i in report.errors if i.message.startswith(f"a {singular} with code")]
        if conflicts and len(conflicts) == len(report.errors):
            raise ImportConflict(report)
    if hooks is not None:
        hooks.check(conn, layer, mode)
    deleted = [i for i, _ in staging.replaced(conn, layer)] if mode == "replace" else []
    if layer.geometry and not report.errors:
        staging.check_spatial(conn, layer, report, deleted, strict=strict, limits=limits)
    if report.errors:
        raise ImportRejected(report)
    staging.write(conn, layer, present, report, deleted)
    if report.errors:
        raise ImportRejected(report)
    if hooks is not None:
        hooks.done(conn, layer, report)
    return report.inserted + report.updated


def import_file(engine: Engine, path: Path, layer_name: str, *, limits: IOLimits, crs: str | None = None,
                encoding: str | None = None, mode: str = "append", dry_run: bool = False, strict: bool = False,
                hooks: ImportHooks | None = None, crs_param: str = "--crs") -> ImportReport:
    """Import ``path`` into ``layer_name`` in one transaction (all features or none) and report on it.

    ``limits`` bound the zip and set the spatial tolerances; ``strict`` refuses invalid geometry instead of
    repairing it, and makes warnings errors; ``dry_run`` rolls everything back and reports what would change.
    Errors name files by their own names, never by a path on the server; ``crs_param`` is how the caller
    spells the CRS parameter in them (``--crs`` on the command line, ``crs`` in the API).
    """
    try:
        return _import_file(engine, path, layer_name, limits=limits, crs=crs, encoding=encoding, mode=mode,
                            dry_run=dry_run, strict=strict, hooks=hooks, crs_param=crs_param)
    except RenewalError as err:
        without_paths(err)
        raise


def _import_file(engine: Engine, path: Path, layer_name: str, *, limits: IOLimits, crs: str | None,
                 encoding: str | None, mode: str, dry_run: bool, strict: bool, hooks: ImportHooks | None,
                 crs_param: str) -> ImportReport:
    """The work of :func:`import_file`."""
    layer = get_layer(layer_name, tables=True)
    if not layer.importable:
        raise InvalidParameter(f"{layer.name} are made by the service, not imported",
                               zh=f"{layer.name} 由系统生成，不能导入", field="layer")
    _check_mode(mode)
    report = ImportReport(layer.name, mode, dry_run, strict, path.name)
    with opened(path, layer.name, limits=limits) as source:
        frame = read_layer(source, layer, report, crs=crs, encoding=encoding, crs_param=crs_param)
    present = {f.name for f in layer.imported_fields if f.name in frame.columns}
    with engine.connect() as conn:
        srid = storage_srid(conn)
    rows = prepare(layer, frame, srid, report, strict)
    del frame
    if report.errors:
        raise ImportRejected(report)
    _in_transaction(engine, layer, rows, limits=limits, mode=mode, present=present, report=report, strict=strict,
                    dry_run=dry_run, hooks=hooks)
    return report


def _in_transaction(engine: Engine, layer: Layer, rows: list[tuple[Any, ...]], *, limits: IOLimits, mode: str,
                    present: set[str], report: ImportReport, strict: bool, dry_run: bool,
                    hooks: ImportHooks | None) -> None:
    """Run ``import_rows`` in a transaction of its own, committed (then analysed) or, in a dry run, rolled back;
    database refusals become the import's errors."""
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                import_rows(conn, layer, rows, limits=limits, mode=mode, present=present, report=report,
                            strict=strict, hooks=hooks)
            except BaseException:
                trans.rollback()
                raise
            if dry_run:
                trans.rollback()
            else:
                trans.commit()
                with conn.begin():
                    conn.execute(text(f"ANALYZE {layer.table}"))
    except OperationalError:
        raise  # the database is away (503), or a statement was cancelled: not the file's fault
    except IntegrityError as err:
        # Checked before writing, so only a concurrent writer or a reference from elsewhere gets here.
        state = getattr(err.orig, "sqlstate", None)
        if state == "23505":
            raise Conflict("another import or edit wrote the same codes meanwhile; nothing was written",
                           zh="其他导入或编辑同时写入了相同的编号，未写入任何数据",
                           field="file") from err
        if state == "23503":
            raise Conflict("features to be replaced are still used elsewhere (e.g. by a joint development); "
                           "nothing was written",
                           zh="要替换的要素仍被其他数据使用（如联合开发），未写入任何数据", field="file") from err
        raise InvalidFile("the database refused a value of the file (a constraint failed); nothing was written",
                          zh="数据库拒绝了文件中的某个值（约束未通过），未写入任何数据",
                          field="file") from err
    except DBAPIError as err:
        raise InvalidFile("the database refused the import; nothing was written",
                          zh="数据库拒绝了此次导入，未写入任何数据", field="file") from err
