"""Who may import what, and the audit row of an import, run inside the import's own transaction.

:class:`ImportGuard` implements ``app.io.importer.ImportHooks``. Once the file is staged and matched (nothing
written yet) it refuses what the caller may not do: ``replace`` and the towns layer need an admin; a town
editor may append or upsert only features of its own town, judged both by where the file puts them and,
for rows it updates, by where they are now. After the write it records one audit row: the import's report,
the rows before (those updated, and those ``replace`` deletes) and after, up to :data:`ROW_IMAGES` each,
without geometry but with its MD5. The command line passes no user: an operator has every right.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from app.auth.users import UserRecord
from app.db import audit
from app.errors import Forbidden
from app.io.importer import ImportReport
from app.io.layers import Layer

ROW_IMAGES = 500
"""Rows copied into the audit row before and after (the counts are always complete)."""

# SQL (constants only) of the town id of a staged feature (its resolved parent) and of an existing row x.
_STAGE_TOWN = {
    "blocks": "s.parent_id",
    "parcels": "(SELECT b.town_id FROM blocks b WHERE b.id = s.parent_id)",
    "buildings": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = s.parent_id)",
    "enterprises": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = s.parent_id)",
}
_ROW_TOWN = {
    "blocks": "x.town_id",
    "parcels": "(SELECT b.town_id FROM blocks b WHERE b.id = x.block_id)",
    "buildings": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = x.parcel_id)",
    "enterprises": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = x.parcel_id)",
}
_TOWNS_TOUCHED = """
SELECT DISTINCT t.code FROM (
    SELECT {stage_town} AS town_id FROM stage s
    UNION
    SELECT {row_town} FROM stage s JOIN {table} x ON x.id = s.target_id
) z LEFT JOIN towns t ON t.id = z.town_id
"""


def _image(layer: Layer) -> str:
    """SQL of a row ``x`` as JSON: its columns without geometry, with the geometry's MD5 for spatial layers."""
    if layer.geometry:
        return "to_jsonb(x) - 'geom' || jsonb_build_object('geom_md5', md5(ST_AsEWKB(x.geom)::text))"
    return "to_jsonb(x)"


def _images(conn: Connection, sql: str) -> list[dict[str, Any]]:
    """The row images a statement returns (at most ROW_IMAGES)."""
    return [r[0] for r in conn.execute(text(sql), {"n": ROW_IMAGES})]


class ImportGuard:
    """Import hooks for ``user`` (None: the command line, every right), recording ``actor`` in the audit."""

    def __init__(self, actor: str, user: UserRecord | None) -> None:
        self.actor = actor
        self.user = user
        self.before: dict[str, Any] = {}

    def authorise(self, layer_name: str, mode: str) -> None:
        """Refuse early what the role can never do, whatever the file holds."""
        user = self.user
        if user is None or user.role == "admin":
            return
        if user.role != "town_editor":
            raise Forbidden(f"imports need a town editor or an admin; {user.username} is a {user.role}",
                            zh=f"导入需要镇街编辑或管理员；{user.username} 的角色是 {user.role}", field="role")
        if mode == "replace":
            raise Forbidden("mode replace deletes what the file lacks: it needs an admin",
                            zh="replace 模式会删除文件中没有的要素：需要管理员", field="mode")
        if layer_name == "towns":
            raise Forbidden("the towns layer is imported by an admin",
                            zh="镇街图层由管理员导入", field="layer")

    def check(self, conn: Connection, layer: Layer, mode: str) -> None:
        """Refuse an import beyond the user's rights; note the rows as they are before the write."""
        self.authorise(layer.name, mode)
        if self.user is not None and self.user.role == "town_editor":
            towns = {r[0] for r in conn.execute(text(_TOWNS_TOUCHED.format(
                stage_town=_STAGE_TOWN[layer.name], row_town=_ROW_TOWN[layer.name], table=layer.table)))}
            others = sorted(str(t) for t in towns - {self.user.town_code})
            if others:
                raise Forbidden(f"{self.user.username} edits town {self.user.town_code} only; the file touches "
                                f"{', '.join(others)}",
                                zh=f"{self.user.username} 只能编辑镇街 {self.user.town_code}；文件涉及 "
                                   f"{'、'.join(others)}", field="file")
        table, key, image = layer.table, layer.key, _image(layer)
        rows = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
        changed = _images(conn, f"SELECT {image} FROM {table} x JOIN stage s ON s.target_id = x.id "  # noqa: S608
                                "ORDER BY x.id LIMIT :n")
        deleted: list[dict[str, Any]] = []
        if mode == "replace" and layer.name in _ROW_TOWN:
            deleted = _images(conn, f"SELECT {image} FROM {table} x "  # noqa: S608
                                    f"WHERE {_ROW_TOWN[layer.name]} IN (SELECT {_STAGE_TOWN[layer.name]} FROM stage s) "
                                    f'AND NOT EXISTS (SELECT 1 FROM stage s WHERE s."{key}" = x.{key}) '
                                    "ORDER BY x.id LIMIT :n")
        self.before = {"rows": rows, "updated": changed, "deleted": deleted,
                       "truncated": len(changed) >= ROW_IMAGES or len(deleted) >= ROW_IMAGES}

    def done(self, conn: Connection, layer: Layer, report: ImportReport) -> None:
        """Record the import (report, rows before and after) in the audit, in the import's transaction."""
        table, key = layer.table, layer.key
        rows = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
        written = _images(conn, f"SELECT {_image(layer)} FROM {table} x "  # noqa: S608
                                f'JOIN stage s ON s."{key}" = x.{key} ORDER BY x.id LIMIT :n')
        summary = {k: getattr(report, k) for k in ("layer", "mode", "file", "crs", "encoding", "strict", "features",
                                                   "inserted", "updated", "deleted", "moved_children")}
        after = {"rows": rows, "report": summary, "written": written, "truncated": len(written) >= ROW_IMAGES}
        audit.record(conn, actor=self.actor, action="import", entity=layer.name, entity_key=report.file,
                     before=self.before, after=after)
