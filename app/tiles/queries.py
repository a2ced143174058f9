"""The map's small JSON statements: block and parcel cards, search, filtered totals, the block index.

Each is one statement with every value bound (``:code``, ``:q``, the FAR rule's ``:far_min``...). Areas are
planar in the storage CRS; 亩 = m² × 15 / 10000; money in yuan, ``_wan`` in 万元.
"""

from __future__ import annotations

from sqlalchemy import text

from app.planning.rule_sql import far_basis_sql, far_floor_sql, far_pass_sql, far_short_sql, far_sql, parcel_far_sql

_PARCEL_FAR = parcel_far_sql("p")  # the per-parcel roll-up: pf.land_m2, pf.counted_m2, pf.far
_FLOOR = far_floor_sql("fe")  # the floor that applies to parcel p of block b (docs/rules.md §9.3)
_BASIS = far_basis_sql("p", "b", "fe")  # and why (rule_basis)
_BLOCK_FLOOR = ("CASE WHEN fe.block_id IS NULL THEN CAST(:far_min AS float8) ELSE fe.min_far::float8 END")

# One row: what the block card shows. land_area_* and far are over the block's parcels (Σ counted floor
# area ÷ Σ land area, never a mean of ratios: rule_sql.far_sql of the parcels' roll-ups); 亩均税收 = Σ parcel
# tax ÷ Σ land (亩) of the parcels that report tax. far_min is the floor that applies (the block's exemption,
# else the rule; NULL: lifted, or a block outside the programme); a parcel fails against its own floor (_FLOOR:
# its land use, the programme, its firms' industry).
BLOCK_CARD = text(f"""
WITH b AS (
    SELECT b.id, b.code, b.name, b.status, b.mode, b.industry, b.plan_year, b.geom, b.in_programme,
           tw.code AS town_code, tw.name AS town_name,
           bs.label_zh AS status_zh, bs.label_en AS status_en, rm.label_zh AS mode_zh, rm.label_en AS mode_en,
           CASE WHEN b.in_programme THEN {_BLOCK_FLOOR} END AS far_min, fe.reason AS far_exemption_reason
    FROM blocks b
    JOIN towns tw ON tw.id = b.town_id
    JOIN block_statuses bs ON bs.code = b.status
    LEFT JOIN renovation_modes rm ON rm.code = b.mode
    LEFT JOIN far_exemptions fe ON fe.block_id = b.id
    WHERE b.code = :code
),
p AS (
    SELECT p.id, pf.land_m2, p.tax::float8 AS tax, pf.counted_m2, {_FLOOR} AS far_floor
    FROM parcels p JOIN b ON p.block_id = b.id LEFT JOIN far_exemptions fe ON fe.block_id = b.id
    CROSS JOIN LATERAL {_PARCEL_FAR} pf
),
pa AS (
    SELECT count(*) AS parcels, COALESCE(sum(land_m2), 0) AS land_m2, COALESCE(sum(counted_m2), 0) AS counted_m2,
           sum(tax) AS tax, sum(land_m2) FILTER (WHERE tax IS NOT NULL) AS tax_land_m2,
           count(*) FILTER (WHERE {far_short_sql("counted_m2", "land_m2", "far_floor")}) AS failing
    FROM p
),
e AS (
    SELECT count(*) AS enterprises, count(*) FILTER (WHERE e.above_scl) AS above_scale
    FROM enterprises e JOIN p ON e.parcel_id = p.id
)
SELECT b.code, b.name, b.town_code, b.town_name, b.status, b.status_zh, b.status_en,
       b.mode, b.mode_zh, b.mode_en, b.industry, b.plan_year, b.far_min, b.far_exemption_reason, b.in_programme,
       ST_Area(b.geom) * 15 / 10000 AS block_area_mu,
       pa.parcels, pa.failing AS parcels_failing,
       pa.land_m2 AS land_area_m2, pa.land_m2 * 15 / 10000 AS land_area_mu,
       pa.counted_m2 AS far_floor_area_m2,
       {far_sql("pa.counted_m2", "pa.land_m2")} AS far,
       pa.tax, pa.tax / NULLIF(pa.tax_land_m2 * 15 / 10000, 0) AS tax_per_mu,
       pa.tax / NULLIF(pa.tax_land_m2 * 15 / 10000, 0) / 10000 AS tax_per_mu_wan,
       e.enterprises, e.above_scale AS enterprises_above_scale,
       ARRAY[ST_XMin(bb), ST_YMin(bb), ST_XMax(bb), ST_YMax(bb)] AS bbox
FROM b, pa, e, LATERAL (SELECT ST_Transform(ST_Envelope(b.geom), 4326) AS bb) x
""")  # noqa: S608 (only module constants are interpolated)

# One row: what the parcel card shows, with the FAR floor that applies and why (rule_basis, docs/rules.md §9.3),
# the shortfall against it (m² of counted floor area still needed: max(0, far_min × land − counted); 0 when the
# floor is lifted or none is claimed; pass NULL when none is claimed), and the buildings whose storeys, basement or
# garages are recorded (surveyed_buildings, a JSON list).
PARCEL_CARD = text(f"""
WITH p AS (
    SELECT p.id, p.code, p.owner, p.land_use, to_char(p.term_end, 'YYYY-MM-DD') AS term_end, p.tax::float8 AS tax,
           b.code AS block_code, b.name AS block_name, tw.name AS town_name, b.in_programme,
           pf.land_m2, pf.counted_m2, pf.far, p.geom, {_FLOOR} AS far_min, {_BASIS} AS rule_basis,
           fe.reason AS far_exemption_reason
    FROM parcels p JOIN blocks b ON b.id = p.block_id JOIN towns tw ON tw.id = b.town_id
    LEFT JOIN far_exemptions fe ON fe.block_id = b.id
    CROSS JOIN LATERAL {_PARCEL_FAR} pf
    WHERE p.code = :code
),
g AS (
    -- surveyed: the buildings with storey heights (bottom up), a basement or garage storeys above the second
    -- floor, by code: what makes their counted floor area differ from floor area × one storey height's factor.
    SELECT count(*) AS buildings, count(*) FILTER (WHERE g.illegal) AS illegal_buildings,
           COALESCE(json_agg(json_build_object(
               'code', g.code, 'floors', g.floors, 'storey_hs', g.storey_hs::float8[],
               'garage_floors', g.garage_floors, 'basement_floors', g.basement_floors, 'basement_use', g.basement_use)
               ORDER BY g.code) FILTER (WHERE g.storey_hs IS NOT NULL OR g.basement_floors > 0 OR g.garage_floors > 0),
               '[]') AS surveyed_buildings
    FROM buildings g JOIN p ON g.parcel_id = p.id
),
e AS (
    SELECT count(*) AS enterprises, count(*) FILTER (WHERE e.above_scl) AS above_scale,
           string_agg(e.name, '、' ORDER BY e.name) AS names,
           array_agg(e.industry_code ORDER BY e.industry_code) FILTER (WHERE e.industry_code IS NOT NULL)
               AS industry_codes
    FROM enterprises e JOIN p ON e.parcel_id = p.id
)
SELECT p.code, p.owner, p.land_use, p.term_end, p.block_code, p.block_name, p.town_name, p.in_programme,
       p.far_min, p.far_exemption_reason, p.rule_basis,
       p.land_m2 AS land_area_m2, p.land_m2 * 15 / 10000 AS land_area_mu,
       p.counted_m2 AS far_floor_area_m2, p.far,
       {far_pass_sql("p.counted_m2", "p.land_m2", "p.far_min", "p.rule_basis")} AS pass,
       COALESCE(GREATEST(0, p.far_min * p.land_m2 - p.counted_m2), 0) AS shortfall_m2,
       g.buildings, g.illegal_buildings, g.surveyed_buildings,
       p.tax, p.tax / NULLIF(p.land_m2 * 15 / 10000, 0) / 10000 AS tax_per_mu_wan,
       e.enterprises, e.above_scale AS enterprises_above_scale, e.names AS enterprise_names,
       COALESCE(e.industry_codes, '{{}}') AS industry_codes,
       ARRAY[ST_XMin(bb), ST_YMin(bb), ST_XMax(bb), ST_YMax(bb)] AS bbox
FROM p, g, e, LATERAL (SELECT ST_Transform(ST_Envelope(p.geom), 4326) AS bb) x
""")  # noqa: S608 (only module constants are interpolated)

# Blocks by code or name, parcels by code or owner; exact and prefix matches first. :pattern is the
# user's text with LIKE's wildcards escaped, wrapped in %...%.
SEARCH = text("""
WITH hits AS (
    (SELECT 'block' AS kind, b.code, b.name AS label, tw.name AS town_name, b.geom,
            (b.code = :q) AS exact, (b.code ILIKE :prefix ESCAPE '\\' OR b.name ILIKE :prefix ESCAPE '\\') AS prefix
     FROM blocks b JOIN towns tw ON tw.id = b.town_id
     WHERE b.code ILIKE :pattern ESCAPE '\\' OR b.name ILIKE :pattern ESCAPE '\\'
     ORDER BY (b.code = :q) DESC, b.code LIMIT :limit)
    UNION ALL
    (SELECT 'parcel', p.code, p.owner, tw.name, p.geom,
            (p.code = :q), (p.code ILIKE :prefix ESCAPE '\\' OR p.owner ILIKE :prefix ESCAPE '\\')
     FROM parcels p JOIN blocks b ON b.id = p.block_id JOIN towns tw ON tw.id = b.town_id
     WHERE p.code ILIKE :pattern ESCAPE '\\' OR p.owner ILIKE :pattern ESCAPE '\\'
     ORDER BY (p.code = :q) DESC, p.code LIMIT :limit)
)
SELECT kind, code, label, town_name,
       ARRAY[ST_XMin(bb), ST_YMin(bb), ST_XMax(bb), ST_YMax(bb)] AS bbox
FROM hits, LATERAL (SELECT ST_Transform(ST_Envelope(hits.geom), 4326) AS bb) x
ORDER BY exact DESC, prefix DESC, kind, code
LIMIT :limit
""")

# Totals of what the filters select: blocks by town, status, mode (``none`` = not decided) and, when a
# CRS84 bbox is given, those that touch it; parcels of those blocks (touching the bbox), then by compliance.
TOTALS = text(f"""
WITH view AS (
    SELECT CASE WHEN CAST(:minx AS float8) IS NULL THEN NULL
                ELSE ST_Transform(ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326), CAST(:srid AS int)) END AS g
),
b AS (
    SELECT b.id, b.in_programme, ST_Area(b.geom) AS area_m2
    FROM blocks b JOIN towns tw ON tw.id = b.town_id, view
    WHERE (CAST(:town AS text) IS NULL OR tw.code = :town)
      AND (CAST(:status AS text) IS NULL OR b.status = :status)
      AND (CAST(:mode AS text) IS NULL OR b.mode = :mode OR (:mode = 'none' AND b.mode IS NULL))
      AND (view.g IS NULL OR b.geom && view.g)
),
p AS (
    SELECT pf.land_m2, p.tax::float8 AS tax, {_FLOOR} AS far_min, {_BASIS} AS rule_basis, pf.counted_m2
    FROM parcels p JOIN b ON b.id = p.block_id LEFT JOIN far_exemptions fe ON fe.block_id = p.block_id
    CROSS JOIN view CROSS JOIN LATERAL {_PARCEL_FAR} pf
    WHERE view.g IS NULL OR p.geom && view.g
),
pc AS (
    -- pass NULL (no floor claimed) is counted in neither compliance filter, and never as failing
    SELECT * FROM (SELECT *, {far_pass_sql("counted_m2", "land_m2", "far_min", "rule_basis")} AS pass FROM p) q
    WHERE CAST(:compliance AS text) IS NULL OR (:compliance = 'pass') = pass
)
SELECT (SELECT count(*) FROM b) AS blocks,
       (SELECT COALESCE(sum(area_m2), 0) * 15 / 10000 FROM b) AS block_area_mu,
       count(*) AS parcels,
       COALESCE(sum(land_m2), 0) * 15 / 10000 AS land_area_mu,
       {far_sql("COALESCE(sum(counted_m2), 0)", "sum(land_m2)")} AS far,
       count(*) FILTER (WHERE NOT pass) AS parcels_failing,
       count(*) FILTER (WHERE NOT pass)::float8 / NULLIF(count(*), 0) AS share_failing,
       COALESCE(sum(land_m2) FILTER (WHERE NOT pass), 0) * 15 / 10000 AS land_area_failing_mu,
       COALESCE(sum(GREATEST(0, far_min * land_m2 - counted_m2)), 0) AS shortfall_m2,
       sum(tax) / NULLIF(sum(land_m2) FILTER (WHERE tax IS NOT NULL) * 15 / 10000, 0) / 10000 AS tax_per_mu_wan
FROM pc
""")  # noqa: S608 (only module constants are interpolated)

# Every block with what the map filters on (a few hundred rows at city scale).
BLOCK_INDEX = text("""
SELECT b.code, b.name, tw.code AS town, b.status, b.mode
FROM blocks b JOIN towns tw ON tw.id = b.town_id
ORDER BY b.code
""")


def like_pattern(q: str) -> tuple[str, str]:
    """(``%q%``, ``q%``) with LIKE's wildcards and the escape character in ``q`` escaped."""
    esc = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{esc}%", f"{esc}%"
