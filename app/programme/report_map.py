"""A self-contained folium map of one town's blocks, for reports and for people without the service.

Leaflet's script and stylesheet come from the xstatic-leaflet package and are written into the HTML (its
images as data URIs); folium's CDN assets are left out, and there is no basemap, so the file opens offline
and asks no server for anything. Figures are those of the map's block card (app.tiles.queries): the per-parcel
roll-up of the FAR rule (app.planning.rule_sql), Σ ÷ Σ per block; colours and labels are the maps' one style
(app.planning.legend).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import folium
import xstatic.pkg.leaflet
from branca.element import Element, Figure
from sqlalchemy import Engine, text

from app.errors import NotFound
from app.planning import legend
from app.planning.config import PlanningRules
from app.planning.rule_sql import far_floor_sql, far_short_sql, far_sql, parcel_far_sql, rule_params

TOWN_SQL = text("""
SELECT t.code, t.name, ST_AsGeoJSON(ST_Transform(t.geom, 4326), 6) AS geojson,
       ARRAY[ST_XMin(bb), ST_YMin(bb), ST_XMax(bb), ST_YMax(bb)] AS bbox
FROM towns t, LATERAL (SELECT ST_Transform(ST_Envelope(t.geom), 4326) AS bb) x
WHERE t.code = :town
""")

# The town's blocks with their card figures: Σ ÷ Σ over each block's parcels (docs/rules.md §3.5), from the
# per-parcel roll-up of the FAR rule (rule_sql.parcel_far_sql).
BLOCKS_SQL = text(f"""
WITH b AS (
    SELECT b.id, b.code, b.name, b.status, b.mode, b.industry, b.geom, b.in_programme
    FROM blocks b JOIN towns t ON t.id = b.town_id
    WHERE t.code = :town
),
p AS (
    -- each parcel against the floor that applies to it (rule_sql.far_floor_sql: programme, exemption, national
    -- minimum by industry, warehouse; NULL: none claimed or lifted)
    SELECT p.block_id, pf.land_m2, p.tax::float8 AS tax, pf.counted_m2, {far_floor_sql("fe")} AS far_min,
           (SELECT count(*) FILTER (WHERE e.above_scl) FROM enterprises e WHERE e.parcel_id = p.id) AS above
    FROM parcels p JOIN b ON b.id = p.block_id LEFT JOIN far_exemptions fe ON fe.block_id = b.id
    CROSS JOIN LATERAL {parcel_far_sql("p")} pf
)
SELECT b.code, b.name, b.status, b.mode, b.industry,
       ST_AsGeoJSON(ST_Transform(b.geom, 4326), 6) AS geojson,
       count(p.block_id) AS parcels,
       count(p.block_id) FILTER (WHERE {far_short_sql("p.counted_m2", "p.land_m2", "p.far_min")}) AS parcels_failing,
       COALESCE(sum(p.land_m2), 0) * 15 / 10000 AS land_area_mu,
       {far_sql("sum(p.counted_m2)", "sum(p.land_m2)")} AS far,
       sum(p.tax) / NULLIF(sum(p.land_m2) FILTER (WHERE p.tax IS NOT NULL) * 15 / 10000, 0) / 10000 AS tax_per_mu_wan,
       COALESCE(sum(p.above), 0)::int AS enterprises_above_scale
FROM b LEFT JOIN p ON p.block_id = b.id
GROUP BY b.id, b.code, b.name, b.status, b.mode, b.industry, b.geom
ORDER BY b.code
""")  # noqa: S608 (only module constants are interpolated)


@dataclass(frozen=True)
class ReportMap:
    """What was written: the file, the town and how many blocks it shows."""

    path: Path
    town_code: str
    town_name: str
    blocks: int


def _inline_leaflet() -> tuple[str, str]:
    """Leaflet's JS and CSS from the xstatic package, the CSS's images turned into data URIs."""
    base = Path(xstatic.pkg.leaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        image = base / match.group(1)
        if not image.is_file():
            return "none"
        return f"url(data:image/png;base64,{base64.b64encode(image.read_bytes()).decode()})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    return js, css


def _fmt(value: Any, digits: int) -> str:
    """A number for the popup, or — when unknown."""
    return "—" if value is None else f"{value:,.{digits}f}"


def town_map(engine: Engine, town: str, out: Path, rules: PlanningRules) -> ReportMap:
    """Write a self-contained HTML map of the town's blocks (status colours, figures in each popup) under ``rules``
    (``settings.rules``)."""
    with engine.connect() as conn:
        t = conn.execute(TOWN_SQL, {"town": town}).mappings().first()
        if t is None:
            raise NotFound(f"no town with code {town!r}",
                           zh=f"没有区划代码为 {town!r} 的镇街", field="town")
        rows = conn.execute(BLOCKS_SQL, {"town": town, **rule_params(rules)}).mappings().all()

    features = []
    for r in rows:
        features.append({"type": "Feature", "geometry": json.loads(r["geojson"]), "properties": {
            "区块编号": escape(r["code"]), "名称": escape(r["name"]),
            "实施状态": legend.STATUS_LABELS.get(r["status"], escape(r["status"])),
            "改造路径": legend.MODE_LABELS.get(r["mode"] or legend.NO_MODE.code, legend.NO_MODE.zh),
            "产业定位": escape(r["industry"] or "—"), "用地面积(亩)": _fmt(r["land_area_mu"], 1),
            "容积率": _fmt(r["far"], 2), "未达标宗地": f"{r['parcels_failing']} / {r['parcels']}",
            "亩均税收(万元/亩)": _fmt(r["tax_per_mu_wan"], 2), "规上企业": r["enterprises_above_scale"],
            "_colour": legend.STATUS_COLOURS.get(r["status"], legend.UNKNOWN_COLOUR)}})

    w, s, e, n = t["bbox"]
    fmap = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=12, tiles=None, control_scale=True,
                      prefer_canvas=False)
    fmap.default_js = []
    fmap.default_css = []
    js, css = _inline_leaflet()
    root = fmap.get_root()
    assert isinstance(root, Figure)
    root.header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline", index=0)
    root.header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline", index=1)
    root.header.add_child(Element(
        "<style>body{font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC','WenQuanYi Micro Hei',"
        "sans-serif}.report-title{position:absolute;z-index:1000;top:10px;left:50px;background:#fff;"
        "padding:6px 10px;border-radius:3px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:15px}"
        ".report-legend{position:absolute;z-index:1000;bottom:28px;right:10px;background:#fff;padding:6px 10px;"
        "border-radius:3px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-size:12px;line-height:18px}"
        ".report-legend i{display:inline-block;width:12px;height:12px;margin-right:5px;border:1px solid #555;"
        "vertical-align:-1px}</style>"), name="report_style")

    folium.GeoJson(json.loads(t["geojson"]), name=f"{escape(t['name'])} 范围（示意）",
                   style_function=lambda _f: {"color": "#555", "weight": 2, "dashArray": "6 4", "fill": False},
                   interactive=False).add_to(fmap)
    fields = ["区块编号", "名称", "实施状态", "改造路径", "产业定位", "用地面积(亩)", "容积率", "未达标宗地",
              "亩均税收(万元/亩)", "规上企业"]
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features}, name="老旧工业区块",
            style_function=lambda f: {"color": "#333", "weight": 1, "fillColor": f["properties"]["_colour"],
                                      "fillOpacity": 0.7},
            highlight_function=lambda _f: {"weight": 3, "color": "#000"},
            tooltip=folium.GeoJsonTooltip(fields=["名称", "实施状态"]),
            popup=folium.GeoJsonPopup(fields=fields),
        ).add_to(fmap)
    fmap.fit_bounds([[s, w], [n, e]])
    statuses = "".join(f"<div><i style='background:{s.colour}'></i>{s.zh}</div>" for s in legend.STATUSES)
    root.html.add_child(Element(
        f"<div class='report-title'><b>{escape(t['name'])}</b> 老旧工业区块改造提升 · {len(features)} 个区块</div>"
        f"<div class='report-legend'><b>实施状态</b>{statuses}<div style='color:#777;margin-top:4px'>"
        f"容积率下限 {rules.far_min:g} · {rules.rule_version} · 镇街范围为示意；县界 © OpenStreetMap contributors"
        f"</div></div>"))
    out.parent.mkdir(parents=True, exist_ok=True)
    fmap.save(str(out))
    return ReportMap(path=out, town_code=t["code"], town_name=t["name"], blocks=len(features))
