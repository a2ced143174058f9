"""Inline SVG maps for the reports and dossiers: drawn from the geometries in the storage CRS (metres).

SVG is vector, prints sharply to PDF, and needs no script, tile or network: the reports open offline.
PostGIS writes the paths (``ST_AsSVG``: y is negated, so the view box runs from -ymax); the outlines are
simplified to about 1/1500 of the map's extent. Colours are the maps' one style (app.planning.legend); a
parcel fails when the per-parcel roll-up of the FAR rule (app.planning.rule_sql.parcel_far_sql) falls short of the
floor that applies, with the same test as the API, the tiles and the cards (rule_sql.far_short_sql).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from app.errors import NotFound
from app.planning import legend
from app.planning.config import PlanningRules
from app.planning.rule_sql import far_floor_sql, far_short_sql, parcel_far_sql, rule_params

# NULL when the rule is lifted or no floor is claimed (rule_basis none): never failing
_FAILS = far_short_sql("pf.counted_m2", "pf.land_m2", far_floor_sql("fe"))
_FLAGS = {s.code: s for s in legend.FLAGS}

_EXTENT = text("""
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(g)::geometry AS e FROM (
    SELECT t.geom AS g FROM towns t WHERE CAST(:town AS text) IS NULL OR t.code = :town) s) x
""")
# Town outlines (the city map, or one town), simplified to :tol metres.
_TOWNS = text("""
SELECT t.code, t.name, ST_AsSVG(ST_SimplifyPreserveTopology(t.geom, :tol), 0, 1) AS path,
       ST_X(ST_PointOnSurface(t.geom)) AS x, ST_Y(ST_PointOnSurface(t.geom)) AS y
FROM towns t WHERE CAST(:town AS text) IS NULL OR t.code = :town ORDER BY t.code
""")
_BLOCKS = text("""
SELECT b.code, b.status, ST_AsSVG(ST_SimplifyPreserveTopology(b.geom, :tol), 0, 1) AS path,
       ST_X(ST_PointOnSurface(b.geom)) AS x, ST_Y(ST_PointOnSurface(b.geom)) AS y
FROM blocks b JOIN towns t ON t.id = b.town_id
WHERE CAST(:town AS text) IS NULL OR t.code = :town ORDER BY b.code
""")
# Parcels of a town failing the FAR floor that applies (rule_sql.far_floor_sql: the rule, the block's exemption, the
# national minimum by industry outside the programme, the warehouse floor).
_FAILING = text(f"""
SELECT ST_AsSVG(p.geom, 0, 1) AS path
FROM parcels p JOIN blocks b ON b.id = p.block_id JOIN towns t ON t.id = b.town_id
LEFT JOIN far_exemptions fe ON fe.block_id = b.id
CROSS JOIN LATERAL {parcel_far_sql("p")} pf
WHERE t.code = :town AND {_FAILS}
""")  # noqa: S608 (only module constants are interpolated)
_BLOCK = text("""
SELECT b.code, ST_AsSVG(b.geom, 0, 1) AS path, ST_XMin(b.geom) AS x0, ST_YMin(b.geom) AS y0, ST_XMax(b.geom) AS x1,
       ST_YMax(b.geom) AS y1
FROM blocks b WHERE b.code = :code
""")
_PARCELS = text(f"""
SELECT p.code, ST_AsSVG(p.geom, 0, 1) AS path, ST_X(ST_PointOnSurface(p.geom)) AS x,
       ST_Y(ST_PointOnSurface(p.geom)) AS y,
       COALESCE({_FAILS}, false) AS failing
FROM parcels p JOIN blocks b ON b.id = p.block_id LEFT JOIN far_exemptions fe ON fe.block_id = b.id
CROSS JOIN LATERAL {parcel_far_sql("p")} pf
WHERE b.code = :code ORDER BY p.code
""")  # noqa: S608 (only module constants are interpolated)


@dataclass(frozen=True, slots=True)
class View:
    """A map window in storage-CRS metres."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def size(self) -> float:
        """The larger side, m."""
        return max(self.x1 - self.x0, self.y1 - self.y0, 1.0)

    def box(self, margin: float = 0.03) -> str:
        """The SVG view box (y negated, as ST_AsSVG writes it) with a margin."""
        m = self.size * margin
        return f"{self.x0 - m:.1f} {-self.y1 - m:.1f} {self.x1 - self.x0 + 2 * m:.1f} {self.y1 - self.y0 + 2 * m:.1f}"


def _height_mm(view: View, width_mm: float, max_mm: float) -> float:
    """The printed height that keeps the map's aspect at ``width_mm`` wide, within 35 mm and ``max_mm``."""
    aspect = (view.y1 - view.y0 + view.size * 0.06) / (view.x1 - view.x0 + view.size * 0.06)
    return max(35.0, min(max_mm, width_mm * aspect))


def _svg(view: View, body: Sequence[str], title: str, height_mm: float) -> str:
    """The SVG element around ``body``; strokes keep their width whatever the scale."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{view.box()}" role="img" '
            f'style="width:100%;height:{height_mm:.0f}mm" preserveAspectRatio="xMidYMid meet">'
            f"<title>{html.escape(title)}</title>"
            "<style>path{vector-effect:non-scaling-stroke}text{font-family:'WenQuanYi Micro Hei','Noto Sans CJK SC',"
            "sans-serif;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:0.25em}</style>"
            + "".join(body) + "</svg>")


def _scale_bar(view: View) -> str:
    """A scale bar of a round length at the bottom left."""
    target = view.size / 5
    length = next(v for v in (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, float("inf"))
                  if v >= target)
    if length == float("inf"):
        length = 50000
    x, y, fs = view.x0, -view.y0 + view.size * 0.02, view.size / 45
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    return (f'<path d="M {x:.1f} {y:.1f} h {length:.1f}" stroke="#222" stroke-width="2" fill="none"/>'
            f'<text x="{x + length / 2:.1f}" y="{y - fs * 0.4:.1f}" font-size="{fs:.1f}">{label}</text>')


def area_map(conn: Connection, rules: PlanningRules, town: str | None = None, width_mm: float = 188,
             max_height_mm: float = 120) -> str:
    """The city (``town`` None) or one town: town outlines, blocks by status, failing parcels in red (a town)."""
    ext = conn.execute(_EXTENT, {"town": town}).first()
    if ext is None or ext[0] is None:
        raise NotFound(f"no town with code {town!r}" if town else "no towns loaded",
                       zh=f"没有区划代码为 {town!r} 的镇街" if town else "尚未载入镇街", field="town")
    view = View(*ext)
    params = {"town": town, "tol": view.size / 1500}
    body = []
    towns = conn.execute(_TOWNS, params).mappings().all()
    for t in towns:
        body.append(f'<path d="{t["path"]}" fill="#f7f7f2" stroke="#666" stroke-width="1" stroke-dasharray="4 3"/>')
    for b in conn.execute(_BLOCKS, params).mappings():
        body.append(f'<path d="{b["path"]}" fill="{legend.STATUS_COLOURS.get(b["status"], legend.UNKNOWN_COLOUR)}" '
                    'fill-opacity="0.75" '
                    f'stroke="#333" stroke-width="0.8"><title>{html.escape(b["code"])}</title></path>')
    if town is not None:
        for f in conn.execute(_FAILING, {"town": town, **rule_params(rules)}).mappings():
            body.append(f'<path d="{f["path"]}" fill="none" stroke="{legend.FAIL.line}" stroke-width="0.6"/>')
    fs = view.size / (60 if town is None else 45)
    if town is None:
        for t in towns:
            body.append(f'<text x="{t["x"]:.1f}" y="{-t["y"]:.1f}" font-size="{fs:.1f}" fill="#444">'
                        f"{html.escape(t['name'])}</text>")
    else:
        for b in conn.execute(_BLOCKS, params).mappings():
            body.append(f'<text x="{b["x"]:.1f}" y="{-b["y"]:.1f}" font-size="{fs:.1f}">{html.escape(b["code"])}'
                        "</text>")
    body.append(_scale_bar(view))
    title = "慈溪市老旧工业区块" if town is None else f"{town} 老旧工业区块"
    return _svg(view, body, title, _height_mm(view, width_mm, max_height_mm))


def block_map(conn: Connection, code: str, rules: PlanningRules, flags: Mapping[str, str | None] | None = None,
              width_mm: float = 100, max_height_mm: float = 95) -> str:
    """A block and its parcels: failing the FAR floor filled red, flagged C/D parcels outlined, codes as labels."""
    b = conn.execute(_BLOCK, {"code": code}).mappings().first()
    if b is None:
        raise NotFound(f"no block with code {code!r}",
                       zh=f"没有编号为 {code!r} 的区块", field="code")
    view = View(b["x0"], b["y0"], b["x1"], b["y1"])
    parcels = conn.execute(_PARCELS, {"code": code, **rule_params(rules)}).mappings().all()
    flags = flags or {}
    body = [f'<path d="{b["path"]}" fill="#fafafa" stroke="#222" stroke-width="2"/>']
    for p in parcels:
        fill = legend.FAIL.colour if p["failing"] else legend.PASS.colour
        flag = _FLAGS.get(flags.get(p["code"]) or "")
        stroke, width = (flag.colour, flag.width) if flag else legend.PARCEL_LINE
        body.append(f'<path d="{p["path"]}" fill="{fill}" fill-opacity="0.8" stroke="{stroke}" '
                    f'stroke-width="{width}"><title>{html.escape(p["code"])}</title></path>')
    if len(parcels) <= 80:
        fs = view.size / 45
        for p in parcels:
            body.append(f'<text x="{p["x"]:.1f}" y="{-p["y"]:.1f}" font-size="{fs:.1f}">{html.escape(p["code"][-5:])}'
                        "</text>")
    body.append(_scale_bar(view))
    return _svg(view, body, f"{code} 宗地", _height_mm(view, width_mm, max_height_mm))
