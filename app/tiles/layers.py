"""The tile layers: one hand-tuned statement per layer, with the properties the map needs and no more.

Statements are module-level constants with positional parameters (asyncpg prepares each once per
connection): ``$1`` z, ``$2`` x, ``$3`` y, ``$4`` the storage SRID, then the layer's own values. Table and
column names appear only here (the whitelist); the layer name in a URL is looked up in ``TILE_LAYERS``.

Geometry is transformed from the storage CRS to EPSG:3857 per tile; the tile envelope (with the clip
buffer as margin) is transformed the other way so the GiST index on the stored geometry does the search.
There is deliberately no ``WHERE geom IS NOT NULL`` around ``ST_AsMVTGeom``: the planner would inline it
and clip every geometry twice, and ``ST_AsMVT`` skips NULL geometries anyway (an empty tile is ``b''``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.planning.config import PlanningRules
from app.planning.rule_sql import (
    RULE_PARAMS,
    far_basis_sql,
    far_floor_sql,
    far_pass_sql,
    floor_placeholders,
    parcel_far_sql,
    positional,
    roll_up_placeholders,
    rule_params,
)

MVT_MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
"""Media type of a Mapbox Vector Tile."""
EXTENT = 4096
"""MVT tile extent (units per tile side)."""
BUFFER = 64
"""Clip buffer in tile units, so strokes do not show seams at tile edges."""
MARGIN = BUFFER / EXTENT

# The envelope CTE shared by every statement: the tile in Web Mercator, and its search box (tile plus
# buffer) in the storage CRS for the index.
_ENVELOPE = f"""
env AS (
    SELECT ST_TileEnvelope($1, $2, $3) AS merc,
           ST_Transform(ST_TileEnvelope($1, $2, $3, margin => {MARGIN}), $4::int) AS native
)"""

TOWNS_SQL = f"""
WITH {_ENVELOPE}
SELECT ST_AsMVT(t, 'towns', {EXTENT}, 'geom', 'id') FROM (
    SELECT tw.id, tw.code, tw.name,
           ST_AsMVTGeom(ST_Transform(tw.geom, 3857), env.merc, {EXTENT}, {BUFFER}, true) AS geom
    FROM towns tw, env
    WHERE tw.geom && env.native
) t
"""  # noqa: S608 (only module constants are interpolated)

BLOCKS_SQL = f"""
WITH {_ENVELOPE}
SELECT ST_AsMVT(t, 'blocks', {EXTENT}, 'geom', 'id') FROM (
    SELECT b.id, b.code, b.name, tw.code AS town, b.status, b.mode,
           ST_AsMVTGeom(ST_Transform(b.geom, 3857), env.merc, {EXTENT}, {BUFFER}, true) AS geom
    FROM blocks b JOIN towns tw ON tw.id = b.town_id, env
    WHERE b.geom && env.native
) t
"""  # noqa: S608 (only module constants are interpolated)

# far: the per-parcel roll-up (rule_sql.parcel_far_sql: Σ counted floor area of the parcel's buildings ÷ its
# planar land area in the storage CRS), rounded to 0.01 for display; pass is decided on the unrounded value
# against the block's exemption, else $5 (the FAR floor). $6 tall-storey height (m), $7 its multiplier, $8
# whether illegal buildings count, $9 the factor of garage storeys above the second floor, $10–$12 those of
# basements by use (garage, plant room, commercial), $13 the warehouse floor, $14/$15 the national minimum by
# industry (codes, floors): rule_sql.RULE_PARAMS in order (rule_sql.positional). pass is absent (NULL) where no
# floor is claimed (rule_sql.far_basis_sql: none).
_RULE = positional(5)
PARCELS_SQL = f"""
WITH {_ENVELOPE}
SELECT ST_AsMVT(t, 'parcels', {EXTENT}, 'geom', 'id') FROM (
    SELECT p.id, p.code, b.code AS block, round(pf.far::numeric, 2)::float8 AS far,
           {far_pass_sql("pf.far", "1", far_floor_sql("fe", **floor_placeholders(_RULE)),
                         far_basis_sql("p", "b", "fe", **floor_placeholders(_RULE, basis=True)))} AS pass,
           ST_AsMVTGeom(ST_Transform(p.geom, 3857), env.merc, {EXTENT}, {BUFFER}, true) AS geom
    FROM parcels p JOIN blocks b ON b.id = p.block_id
    LEFT JOIN far_exemptions fe ON fe.block_id = p.block_id
    CROSS JOIN env
    CROSS JOIN LATERAL {parcel_far_sql("p", **roll_up_placeholders(_RULE))} pf
    WHERE p.geom && env.native
) t
"""  # noqa: S608 (only module constants are interpolated)

BUILDINGS_SQL = f"""
WITH {_ENVELOPE}
SELECT ST_AsMVT(t, 'buildings', {EXTENT}, 'geom', 'id') FROM (
    SELECT g.id, g.floors::int AS floors, g.use, g.illegal,
           ST_AsMVTGeom(ST_Transform(g.geom, 3857), env.merc, {EXTENT}, {BUFFER}, true) AS geom
    FROM buildings g, env
    WHERE g.geom && env.native
) t
"""  # noqa: S608 (only module constants are interpolated)

JOINT_SQL = f"""
WITH {_ENVELOPE}
SELECT ST_AsMVT(t, 'joint_developments', {EXTENT}, 'geom', 'id') FROM (
    SELECT j.id, j.name, j.status, round((j.land_area_m2 * 15 / 10000)::numeric, 2)::float8 AS area_mu,
           ST_AsMVTGeom(ST_Transform(j.geom, 3857), env.merc, {EXTENT}, {BUFFER}, true) AS geom
    FROM joint_developments j, env
    WHERE j.geom && env.native
) t
"""  # noqa: S608 (only module constants are interpolated)


def _no_params(_rules: PlanningRules) -> tuple[object, ...]:
    """Layers whose statement binds nothing beyond z, x, y and the SRID."""
    return ()


def _far_params(rules: PlanningRules) -> tuple[object, ...]:
    """``$5``–``$15`` of the parcels statement: the rule's bind parameters (``rule_sql.RULE_PARAMS``) in order."""
    values = rule_params(rules)
    return tuple(values[name] for name in RULE_PARAMS)


@dataclass(frozen=True)
class TileLayer:
    """A vector-tile layer: its statement, zoom range and the fields its features carry (TileJSON)."""

    name: str
    title_zh: str
    title_en: str
    sql: str
    minzoom: int
    maxzoom: int
    fields: dict[str, str]
    extra_params: Callable[[PlanningRules], tuple[object, ...]] = field(default=_no_params)

    def params(self, z: int, x: int, y: int, srid: int, rules: PlanningRules) -> tuple[object, ...]:
        """Positional parameters of the statement for one tile under ``rules`` (``settings.rules``)."""
        return (z, x, y, srid, *self.extra_params(rules))


MAX_ZOOM = 20
"""Deepest zoom any layer serves (about 0.04 m per tile unit at Cixi's latitude)."""

TILE_LAYERS: dict[str, TileLayer] = {
    layer.name: layer
    for layer in (
        TileLayer("towns", "镇街", "Towns", TOWNS_SQL, 5, 16,  # below z5 the tile box leaves the CRS area
                  {"code": "区划代码 town code", "name": "名称 name"}),
        TileLayer("blocks", "老旧工业区块", "Old industrial blocks", BLOCKS_SQL, 8, MAX_ZOOM,
                  {"code": "区块编号 block code", "name": "区块名称 name", "town": "所属镇街代码 town code",
                   "status": "实施状态 listed|surveyed|planned|in_progress|accepted",
                   "mode": "改造路径 demolition|sorting|management (absent: not decided)"}),
        TileLayer("parcels", "宗地", "Parcels", PARCELS_SQL, 13, MAX_ZOOM,
                  {"code": "宗地编号 parcel code", "block": "区块编号 block code",
                   "far": "容积率 plot ratio: counted floor area ÷ land area (planar, storage CRS), 0.01",
                   "pass": "容积率 ≥ the floor that applies (rule_basis: the rules' far_min in a programme block, "
                           "the block's exemption, the national minimum by industry, the warehouse floor) "
                           "(true/false; absent where no floor is claimed)"},
                  _far_params),
        TileLayer("buildings", "建筑物", "Buildings", BUILDINGS_SQL, 15, MAX_ZOOM,
                  {"floors": "层数 storeys", "use": "用途 production|warehouse|office|dormitory|canteen|other",
                   "illegal": "违法建筑 illegal building (true/false)"}),
        TileLayer("joint_developments", "联合开发项目", "Joint developments", JOINT_SQL, 10, MAX_ZOOM,
                  {"name": "项目名称 name", "status": "状态 active|cancelled",
                   "area_mu": "合并用地面积 merged land area, 亩 (m² × 15 / 10000)"}),
    )
}
