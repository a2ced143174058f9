"""Staging of an import in SQL: the temporary ``stage`` table, repair, parents, spatial checks, and the write.

Prepared rows are COPied into a temporary table dropped at commit; everything after runs in the caller's
transaction, so an import writes all features or none. Invalid geometry is repaired with ``ST_MakeValid``;
each feature's parent (town, block, parcel) is found by its code, else by location; codes are matched to
existing rows. Parcel overlaps and buildings reaching outside their parcel above a tolerance are warnings
(errors with ``strict``). ``replace`` deletes the layer's rows in the towns the file covers that it does not
hold and moves their children by location. Identifiers in the statements come from the layer registry and
the tables below only; values are bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from psycopg import sql
from sqlalchemy import Connection, text

from app.io.import_report import ImportReport, Severity
from app.io.layers import Layer, get_layer
from app.io.safety import IOLimits
from app.io.validation import building_problems

_PG_TYPES = {"str": "text", "int": "integer", "float": "float8", "date": "date", "bool": "boolean"}


@dataclass(frozen=True)
class _Target:
    """Where a layer's fields go: interchange field → table column, the parent key column, insert defaults, and
    the SQL turning a staged value ``{v}`` into the column's type where a plain assignment cannot."""

    columns: dict[str, str]
    parent_fk: str | None
    defaults: dict[str, str]
    exprs: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, staged: str) -> str:
        """SQL of the column value of field ``name`` from its staged value ``staged``."""
        return self.exprs[name].format(v=staged) if name in self.exprs else staged


_TARGETS: dict[str, _Target] = {
    "towns": _Target({"code": "code", "name": "name"}, None, {}),
    "blocks": _Target(
        {"code": "code", "name": "name", "status": "status", "mode": "mode", "industry": "industry",
         "plan_year": "plan_year", "fire_haz": "fire_hazard", "illeg_bldg": "illegal_buildings",
         "low_ind": "low_industry", "poor_env": "poor_environment", "in_prog": "in_programme"},
        "town_id",
        {"status": "'listed'", "fire_hazard": "false", "illegal_buildings": "false", "low_industry": "false",
         "poor_environment": "false", "in_programme": "true"},
    ),
    "parcels": _Target(
        {"code": "code", "land_use": "land_use", "owner": "owner", "term_end": "term_end", "supp_m2": "supp_m2",
         "green_m2": "green_m2", "invest": "invest", "output": "output", "tax": "tax"},
        "block_id", {},
    ),
    "buildings": _Target(
        {"code": "code", "floors": "floors", "floor_h": "floor_h", "floor_area": "floor_area", "use": "use",
         "illegal": "illegal", "storey_hs": "storey_hs", "bsmt_n": "basement_floors", "bsmt_use": "basement_use",
         "bsmt_m2": "basement_area", "garage_n": "garage_floors"},
        "parcel_id", {"use": "'production'", "illegal": "false"},
        {"storey_hs": "CAST(string_to_array({v}, ',') AS numeric[])"},  # staged as "9.0,4.5,4.5"
    ),
    "enterprises": _Target(
        {"credit_code": "credit_code", "name": "name", "above_scl": "above_scl", "revenue": "revenue", "tax": "tax",
         "output": "output", "energy_tce": "energy_tce", "class": "class", "class_year": "class_year",
         "ind_code": "industry_code"},
        "parcel_id", {"above_scl": "false"},
    ),
}

# The town (id) of a row ``x`` of each table, and of a staged feature's parent ``s.parent_id``: the scope
# of ``replace``.
_TOWN_OF_ROW = {
    "blocks": "x.town_id",
    "parcels": "(SELECT b.town_id FROM blocks b WHERE b.id = x.block_id)",
    "buildings": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = x.parcel_id)",
    "enterprises": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = x.parcel_id)",
}
_TOWN_OF_STAGE = {
    "blocks": "s.parent_id",
    "parcels": "(SELECT b.town_id FROM blocks b WHERE b.id = s.parent_id)",
    "buildings": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = s.parent_id)",
    "enterprises": "(SELECT b.town_id FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE p.id = s.parent_id)",
}
# Children moved by location when ``replace`` deletes their parent: (child table, key column).
_CHILDREN = {"blocks": ("parcels", "block_id"), "parcels": ("buildings", "parcel_id")}

_RESOLVE_BY_CODE = 'UPDATE stage s SET parent_id = p.id FROM {parent} p WHERE p.code = s."{code_field}"'
_RESOLVE_BY_LOCATION = """
UPDATE stage s SET parent_id = (
    SELECT p.id FROM {parent} p
    WHERE p.geom && s.geom AND ST_Intersects(p.geom, s.geom)
    ORDER BY ST_Area(ST_Intersection(p.geom, s.geom)) DESC, p.id
    LIMIT 1)
WHERE s."{code_field}" IS NULL
"""
_UNRESOLVED = 'SELECT n, "{key}", "{code_field}" FROM stage WHERE parent_id IS NULL {only_named} ORDER BY n'
_MATCH = 'UPDATE stage s SET target_id = t.id FROM {table} t WHERE t.{key} = s."{key}"'
_MATCHED = 'SELECT n, "{key}" FROM stage WHERE target_id IS NOT NULL ORDER BY n'
_REPAIR = """
UPDATE stage SET geom = ST_Multi(ST_CollectionExtract(ST_MakeValid(geom), 3))
WHERE NOT ST_IsValid(geom)
RETURNING n, "{key}", ST_IsEmpty(geom)
"""
_DELETED = """
SELECT x.id, x.{key} FROM {table} x
WHERE {town_of_row} IN (SELECT DISTINCT {town_of_stage} FROM stage s)
  AND NOT EXISTS (SELECT 1 FROM stage s WHERE s."{key}" = x.{key})
ORDER BY x.{key}
"""
# Interiors overlapping by more than the tolerance: within the file, and with parcels that stay.
_OVERLAPS_IN_FILE = """
SELECT a.n, a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom))
FROM stage a JOIN stage b ON a.n < b.n AND a.geom && b.geom
WHERE ST_Relate(a.geom, b.geom, 'T********') AND ST_Area(ST_Intersection(a.geom, b.geom)) > :tol
ORDER BY a.n, b.n
"""
_OVERLAPS_EXISTING = """
SELECT s.n, s.code, p.code, ST_Area(ST_Intersection(s.geom, p.geom))
FROM stage s JOIN parcels p ON p.geom && s.geom
WHERE ST_Relate(s.geom, p.geom, 'T********') AND ST_Area(ST_Intersection(s.geom, p.geom)) > :tol
  AND p.id <> ALL(CAST(:deleted AS int[]))
  AND NOT EXISTS (SELECT 1 FROM stage m WHERE m.target_id = p.id)
ORDER BY s.n
"""
_OUTSIDE_PARCEL = """
SELECT s.n, s.code, p.code, ST_Area(ST_Difference(s.geom, p.geom))
FROM stage s JOIN parcels p ON p.id = s.parent_id
WHERE NOT ST_CoveredBy(s.geom, p.geom) AND ST_Area(ST_Difference(s.geom, p.geom)) > :tol
ORDER BY s.n
"""
_REATTACH = """
UPDATE {child} c SET {fk} = COALESCE((
    SELECT x.id FROM {table} x
    WHERE x.id <> ALL(CAST(:deleted AS int[])) AND x.geom && c.geom AND ST_Intersects(x.geom, c.geom)
    ORDER BY ST_Area(ST_Intersection(x.geom, c.geom)) DESC, x.id
    LIMIT 1), c.{fk})
WHERE c.{fk} = ANY(CAST(:deleted AS int[]))
"""
_STRANDED = """
SELECT c.code, x.code FROM {child} c JOIN {table} x ON x.id = c.{fk}
WHERE c.{fk} = ANY(CAST(:deleted AS int[])) ORDER BY c.code
"""


# An update from a file without some of a building's related fields keeps their stored values: checked with the
# file's others as validation checks a whole feature (one height per storey, garages at most floors − 2...).
_RELATED = {"floors": "t.floors", "floor_h": "t.floor_h::float8",
            "storey_hs": "(SELECT string_agg(st.h::float8::text, ',' ORDER BY st.i) "
                         "FROM unnest(t.storey_hs) WITH ORDINALITY AS st(h, i))",
            "bsmt_n": "t.basement_floors::int", "bsmt_use": "t.basement_use", "bsmt_m2": "t.basement_area::float8",
            "garage_n": "t.garage_floors::int"}
_KEPT = "SELECT s.n, s.code, {values} FROM stage s JOIN buildings t ON t.id = s.target_id ORDER BY s.n"


def _check_kept_fields(conn: Connection, present: set[str], report: ImportReport) -> None:
    """Refuse updates that would leave a building inconsistent with the stored values of the fields the file lacks
    (e.g. new ``floors`` against the stored storey heights)."""
    kept = [name for name in _RELATED if name not in present]
    if not kept:
        return
    names = list(_RELATED)
    values = ", ".join(_RELATED[name] if name in kept else f's."{name}"' for name in names)
    for n, code, *row in conn.execute(text(_KEPT.format(values=values))):  # noqa: S608 (SQL from this module)
        for name, message in building_problems(dict(zip(names, row, strict=True))):
            stored = ", ".join(k for k in kept if k != "floor_h")
            report.add(n, code, name, "error", f"{message} (with the stored {stored}, which the file lacks)")


def _q(name: str) -> str:
    """A registry identifier, double-quoted for SQL."""
    return '"' + name.replace('"', '""') + '"'


def stage(conn: Connection, layer: Layer, rows: list[tuple[Any, ...]]) -> None:
    """Create the temporary staging table and COPY the prepared rows into it."""
    fields = layer.imported_fields
    columns: list[sql.Composable] = [sql.SQL("n integer")]
    columns += [sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(_PG_TYPES[f.kind])) for f in fields]
    columns += [sql.SQL("geom geometry"), sql.SQL("parent_id integer"), sql.SQL("target_id integer")]
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute(sql.SQL("CREATE TEMP TABLE stage ({}) ON COMMIT DROP").format(sql.SQL(", ").join(columns)))
        names = sql.SQL(", ").join(sql.Identifier(n) for n in ["n", *(f.name for f in fields), "geom"])
        with cur.copy(sql.SQL("COPY stage ({}) FROM STDIN").format(names)) as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(sql.SQL("CREATE INDEX ON stage ({})").format(sql.Identifier(layer.key)))
        if layer.geometry:
            cur.execute("CREATE INDEX ON stage USING gist (geom)")
        cur.execute("ANALYZE stage")


def repair(conn: Connection, layer: Layer, report: ImportReport) -> None:
    """Repair invalid geometries in the stage with ST_MakeValid (polygons kept); empty results are errors."""
    if not layer.geometry:
        return
    for n, code, empty in conn.execute(text(_REPAIR.format(key=layer.key))):
        if empty:
            report.add(n, code, "geometry", "error", "geometry is empty once repaired with ST_MakeValid")
        elif not any(i.n == n and i.severity == "repaired" for i in report.issues):
            report.add(n, code, "geometry", "repaired", "invalid geometry repaired with ST_MakeValid")


def resolve_parent(conn: Connection, layer: Layer, report: ImportReport) -> None:
    """Fill ``stage.parent_id`` from the parent's code, else from location; report features left over."""
    if layer.parent is None:
        return
    code_field, parent_name = layer.parent
    parent = get_layer(parent_name)
    ident = {"parent": parent.table, "code_field": code_field}  # identifiers from the registry only
    conn.execute(text(_RESOLVE_BY_CODE.format(**ident)))
    if layer.geometry:
        conn.execute(text(_RESOLVE_BY_LOCATION.format(**ident)))
    only_named = "" if layer.geometry else f'AND "{code_field}" IS NOT NULL'
    singular = parent_name[:-1]
    for n, code, parent_code in conn.execute(text(_UNRESOLVED.format(key=layer.key, code_field=code_field,
                                                                       only_named=only_named))):
        if parent_code is not None:
            report.add(n, code, code_field, "error", f"{code_field} {parent_code!r} is not a known {singular}")
        else:
            report.add(n, code, code_field, "error", f"lies in no {singular}; give {code_field}")


def match(conn: Connection, layer: Layer) -> None:
    """Set ``stage.target_id`` to the existing row of the same code (``NULL``: a new feature)."""
    conn.execute(text(_MATCH.format(table=layer.table, key=layer.key)))


def matched(conn: Connection, layer: Layer) -> list[tuple[int, Any]]:
    """The staged features whose code already exists (position in the file, code): conflicts in ``append``."""
    return [(n, code) for n, code in conn.execute(text(_MATCHED.format(key=layer.key)))]


def check_spatial(conn: Connection, layer: Layer, report: ImportReport, deleted: list[int], *, strict: bool,
                  limits: IOLimits) -> None:
    """Parcel overlaps and buildings reaching outside their parcel, above the tolerances."""
    severity: Severity = "error" if strict else "warning"
    if layer.name == "parcels":
        tol = limits.overlap_tolerance_m2
        for n, code, other, area in conn.execute(text(_OVERLAPS_IN_FILE), {"tol": tol}):
            report.add(n, code, "geometry", severity, f"overlaps parcel {other} of the file by {area:.2f} m²")
        for n, code, other, area in conn.execute(text(_OVERLAPS_EXISTING), {"tol": tol, "deleted": deleted}):
            report.add(n, code, "geometry", severity, f"overlaps existing parcel {other} by {area:.2f} m²")
    if layer.name == "buildings":
        for n, code, parcel, area in conn.execute(text(_OUTSIDE_PARCEL), {"tol": limits.outside_tolerance_m2}):
            report.add(n, code, "geometry", severity, f"{area:.2f} m² lie outside its parcel {parcel}")


def replaced(conn: Connection, layer: Layer) -> list[tuple[int, str]]:
    """Rows that ``replace`` deletes: the layer's rows in the towns the file covers that the file lacks."""
    if layer.name not in _TOWN_OF_ROW:
        return []
    rows = conn.execute(text(_DELETED.format(key=layer.key, table=layer.table, town_of_row=_TOWN_OF_ROW[layer.name],
                                             town_of_stage=_TOWN_OF_STAGE[layer.name])))
    return [(int(i), str(c)) for i, c in rows]


def write(conn: Connection, layer: Layer, present: set[str], report: ImportReport, deleted: list[int]) -> None:
    """Update matched rows, insert new ones, move children of deleted rows, delete them."""
    target = _TARGETS[layer.name]
    if layer.name == "buildings":
        _check_kept_fields(conn, present, report)
        if report.errors:
            return
    fields = [f for f in layer.imported_fields if f.name in target.columns]
    insert_cols = [_q(target.columns[f.name]) for f in fields]
    insert_vals = [f"COALESCE(s.{_q(f.name)}, {target.defaults[target.columns[f.name]]})"
                   if target.columns[f.name] in target.defaults else target.value(f.name, f"s.{_q(f.name)}")
                   for f in fields]
    sets = []
    for f in fields:
        if f.name not in present or f.name == layer.key:
            continue
        col = target.columns[f.name]
        sets.append(f"{_q(col)} = COALESCE(s.{_q(f.name)}, t.{_q(col)})" if col in target.defaults
                    else f"{_q(col)} = {target.value(f.name, f's.{_q(f.name)}')}")
    if target.parent_fk:
        insert_cols.append(target.parent_fk)
        insert_vals.append("s.parent_id")
        if layer.geometry or (layer.parent and layer.parent[0] in present):
            sets.append(f"{target.parent_fk} = s.parent_id")
    if layer.geometry:
        insert_cols.append("geom")
        insert_vals.append("s.geom")
        sets.append("geom = s.geom")
    if sets:
        updated = conn.execute(text(
            f"UPDATE {layer.table} t SET {', '.join(sets)} FROM stage s WHERE t.id = s.target_id"  # noqa: S608
        ))
        report.updated = int(updated.rowcount)
    inserted = conn.execute(text(
        f"INSERT INTO {layer.table} ({', '.join(insert_cols)}) "  # noqa: S608
        f"SELECT {', '.join(insert_vals)} FROM stage s WHERE s.target_id IS NULL ORDER BY s.n"
    ))
    report.inserted = int(inserted.rowcount)
    if not deleted:
        return
    if layer.name in _CHILDREN:
        child, fk = _CHILDREN[layer.name]
        moved = conn.execute(text(_REATTACH.format(child=child, fk=fk, table=layer.table)), {"deleted": deleted})
        report.moved_children = int(moved.rowcount)
        for child_code, parent_code in conn.execute(text(_STRANDED.format(child=child, fk=fk, table=layer.table)),
                                                    {"deleted": deleted}):
            report.add(None, None, "mode", "error",
                       f"{child[:-1]} {child_code} stands on {layer.name[:-1]} {parent_code}, which the file drops, "
                       f"and lies on no {layer.name[:-1]} that stays")
    if layer.name == "parcels":
        freed = conn.execute(text("UPDATE enterprises SET parcel_id = NULL WHERE parcel_id = ANY(CAST(:d AS int[]))"),
                             {"d": deleted})
        if freed.rowcount:
            report.add(None, None, "mode", "warning",
                       f"{freed.rowcount} enterprises were on dropped parcels and now have none")
    if report.errors:
        return
    gone = conn.execute(text(f"DELETE FROM {layer.table} WHERE id = ANY(CAST(:d AS int[]))"),  # noqa: S608
                        {"d": deleted})
    report.deleted = int(gone.rowcount)
