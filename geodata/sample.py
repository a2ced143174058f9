"""Deterministic synthetic sample data for Cixi 慈溪市 (老旧工业区块改造提升).

Real inputs (reference/SOURCES.md): the county outline, the NBS names and codes of towns and villages,
and the GeoNames town seats. Everything else is synthetic; reference/SYNTHETIC.md lists what is what.

``generate(scale, seed, srid)`` returns five pandas DataFrames (towns, blocks, parcels, buildings,
enterprises) whose columns match the PostGIS tables one to one. Geometries are shapely 2
MultiPolygons in the projected CRS ``srid`` (metres). The output depends only on (scale, seed, srid):
all randomness comes from one ``numpy.random.default_rng(seed)`` and every step is vectorised.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

__all__ = [
    "COLUMNS",
    "M2_PER_MU",
    "SYNTHETIC_SEATS",
    "SampleData",
    "block_code",
    "cn_numeral",
    "credit_code_check",
    "generate",
    "load_county",
    "load_towns",
    "parcel_code",
    "renovation_uplift",
]

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
COUNTY_FILE = REFERENCE_DIR / "cixi_county_osm_geoboundaries2017_wgs84.geojson"
TOWNS_FILE = REFERENCE_DIR / "cixi_towns_nbs2023.csv"
VILLAGES_FILE = REFERENCE_DIR / "cixi_villages_nbs2023.csv"

#: Square metres per 亩 (exact ratio; compute 亩 as ``m2 * 15 / 10000``).
M2_PER_MU = 10000 / 15

Progress = Callable[[str, int, int], None]

#: Column names (and order) of each table, identical to the PostGIS tables.
COLUMNS: dict[str, tuple[str, ...]] = {
    "towns": ("id", "code", "name", "kind", "seat_synthetic", "geom"),
    "blocks": ("id", "code", "name", "town_id", "status", "mode", "industry", "plan_year",
               "fire_hazard", "illegal_buildings", "low_industry", "poor_environment", "geom"),
    "parcels": ("id", "code", "block_id", "land_use", "owner", "term_end", "supp_m2", "green_m2",
                "invest", "output", "tax", "geom"),
    "buildings": ("id", "code", "parcel_id", "floors", "floor_h", "floor_area", "use", "illegal", "geom",
                  "storey_hs", "basement_floors", "basement_use", "basement_area"),
    "enterprises": ("id", "credit_code", "name", "parcel_id", "above_scl", "revenue", "tax", "output",
                    "energy_tce", "class", "class_year", "industry_code"),
}

#: Seats placed by hand (WGS84 lon, lat) for the units without a GeoNames point. SYNTHETIC.
SYNTHETIC_SEATS: dict[str, tuple[float, float]] = {
    "330282005": (121.266, 30.188),  # 白沙路街道: just NE of 浒山
    "330282006": (121.222, 30.163),  # 古塘街道: SW of 浒山
    "330282108": (121.345, 30.275),  # 附海镇: north of 新浦/胜山 toward the coast
    "330282116": (121.190, 30.248),  # 崇寿镇: between 长河 and 庵东
    "330282402": (121.465, 30.228),  # 滨海经济开发区 (慈东): north-east coastal industrial belt
    "330282403": (121.300, 30.300),  # 高新技术产业园区: northern reclaimed belt
    "330282404": (121.262, 30.250),  # 环杭州湾创新中心: north of the centre
    "330282405": (121.225, 30.330),  # 现代农业开发区: north-west reclaimed land
    "330282406": (121.285, 30.205),  # 长三角商贸园区: near the centre
}
MIN_SEAT_DISTANCE_M = 2000.0

TOWN_KINDS = {"街道": "subdistrict", "镇": "town", "statistical": "zone"}
#: Relative weight of a town kind when spreading blocks (times the town's area).
KIND_WEIGHT = {"subdistrict": 0.35, "town": 1.0, "zone": 1.3}
ZONE_WEIGHT_OVERRIDE = {"330282405": 0.6}  # 现代农业开发区 is mostly farmland

BLOCK_STATUSES = ("listed", "surveyed", "planned", "in_progress", "accepted")
#: Share of blocks per status at the end of 2026, the programme's last year: most accepted, some in progress, a few
#: behind. The counts are these shares of the blocks rounded by largest remainder (8 blocks: 1 planned, 2 in
#: progress, 5 accepted), given to the blocks in a random order.
STATUS_P = (0.03, 0.04, 0.08, 0.20, 0.65)
#: Plan years (计划改造年度) by status, spread evenly over the years in a random order: accepted blocks 2022-2026
#: (works start in the plan year and take months to a year and a half, so they were accepted from late 2022 to the
#: 2026 acceptance window), blocks in progress and planned blocks 2025-2026 (the planned ones are behind).
PLAN_YEARS = {"planned": (2025, 2026), "in_progress": (2025, 2026), "accepted": (2022, 2026)}
#: The year the sample's figures (tax, output, revenue) describe: the end of its story.
SAMPLE_YEAR = 2026
#: Renovation uplift of an accepted block's 亩均税收 by mode, reached three years after the plan year (a third of it
#: at first): a block rebuilt after demolition gains most, one tidied up under management least.
RENOVATION_UPLIFT = {"demolition": 0.6, "sorting": 0.35, "management": 0.15}
BLOCK_MODES = ("demolition", "sorting", "management")
MODE_P = (0.25, 0.45, 0.30)
INDUSTRIES = ("智能家电", "汽车零部件", "新材料", "轴承及精密零部件", "化纤纺织", "电子信息", "生命健康", "模具",
              "五金机械", "小微企业园")
INDUSTRY_P = (0.18, 0.12, 0.09, 0.10, 0.08, 0.08, 0.05, 0.08, 0.12, 0.10)
# GB/T 4754-2017 classes (小类) of plausible firms per industry positioning of a block (issue 14: the national
# minimum 容积率 by industry outside the programme). SYNTHETIC: drawn, not the firms' registered codes.
INDUSTRY_CODES: dict[str, tuple[str, ...]] = {
    "智能家电": ("C3851", "C3854", "C3855", "C3856", "C3819"),
    "汽车零部件": ("C3670", "C2913", "C3484"),
    "新材料": ("C2651", "C2659", "C3091"),
    "轴承及精密零部件": ("C3451", "C3452", "C3484"),
    "化纤纺织": ("C2822", "C1713", "C1763", "C1811"),
    "电子信息": ("C3982", "C3981", "C3831", "C4011"),
    "生命健康": ("C3581", "C2770", "C3586"),
    "模具": ("C3525", "C2927", "C2929"),
    "五金机械": ("C3311", "C3442", "C3321", "C3444"),
    "小微企业园": ("C2927", "C3872", "C2231", "C3399", "C2438"),
}
INDUSTRY_CODE_MISSING_P = 0.1
"""Share of firms without an industry code in the sample (as in real registers, some are unknown)."""
# Land use (用地性质) as written in the sample, by class: the national classification of land and sea use and the
# older GB 50137-2011 letters mixed, as existing data carry them (issue 14). The class never changes.
LAND_USE_INDUSTRIAL = (("工业用地", 0.55), ("100102", 0.15), ("M2", 0.13), ("100101", 0.05), ("M1", 0.05),
                       ("二类工业用地", 0.03), ("100103", 0.02), ("M3", 0.02))
LAND_USE_WAREHOUSE = (("仓储用地", 0.5), ("W1", 0.2), ("110101", 0.15), ("1101", 0.1), ("W", 0.05))
INDUSTRY_WORDS = {
    "智能家电": ("电器", "家电", "电机", "智能科技", "厨具"),
    "汽车零部件": ("汽车部件", "汽配", "机电", "橡塑", "精密机械"),
    "新材料": ("新材料", "化工", "塑化", "高分子材料", "复合材料"),
    "轴承及精密零部件": ("轴承", "精密机械", "五金", "密封件", "机械"),
    "化纤纺织": ("化纤", "纺织", "针织", "服饰", "织造"),
    "电子信息": ("电子", "光电", "电器", "线缆", "仪表"),
    "生命健康": ("医疗器械", "生物科技", "健康科技", "卫生用品", "净水设备"),
    "模具": ("模具", "塑料制品", "注塑", "精密模塑", "五金"),
    "五金机械": ("五金", "机械", "工具", "阀门", "液压"),
    "小微企业园": ("日用品", "塑料制品", "五金", "包装", "照明电器"),
}
NAME_CHARS = ("宏华盛达恒鑫隆兴泰丰嘉信诚佳创新金银联宇天海东方中成永大长瑞祥福万通利和德顺远博科美凯宝辉源升"
              "亚立欧捷骏腾飞卓越裕富安星日旭明光正伟群协力帆锦晟昌鼎翔茂益康润彩阳")
NAME_SUFFIXES = ("有限公司", "股份有限公司", "实业有限公司", "厂")
NAME_SUFFIX_P = (0.82, 0.05, 0.05, 0.08)

BUILDING_USES = ("production", "warehouse", "office", "dormitory", "canteen", "other")
BUILDING_USE_P = (0.58, 0.17, 0.11, 0.07, 0.03, 0.04)
#: P(floors = 1..8) by use.
FLOORS_P = {
    "production": (0.36, 0.22, 0.18, 0.12, 0.06, 0.04, 0.015, 0.005),
    "warehouse": (0.52, 0.20, 0.15, 0.09, 0.03, 0.01, 0.0, 0.0),
    "office": (0.04, 0.10, 0.22, 0.26, 0.18, 0.12, 0.05, 0.03),
    "dormitory": (0.0, 0.06, 0.16, 0.26, 0.24, 0.16, 0.08, 0.04),
    "canteen": (0.45, 0.38, 0.14, 0.03, 0.0, 0.0, 0.0, 0.0),
    "other": (0.72, 0.20, 0.08, 0.0, 0.0, 0.0, 0.0, 0.0),
}

# Geometry of the synthetic layout (metres, m²).
CELL = 1400.0  # grid cell holding at most one block
BLOCK_GAP = 60.0  # minimum clearance between the bounding boxes of neighbouring blocks
BLOCK_SIDE = (430.0, 1100.0)
BLOCK_ROT_SD_DEG, BLOCK_ROT_MAX_DEG = 8.0, 20.0
PARCEL_MIN_M2, PARCEL_MAX_M2 = 2000.0, 50000.0
_CUT = (0.35, 0.65)  # a cut falls within this fraction of the longer side
_SPLIT_MAX = PARCEL_MAX_M2 - 100.0  # always split above this area
_SPLIT_MIN = PARCEL_MIN_M2 / _CUT[0] * 1.001  # never split below this area (children stay >= 2000 m²)
_LEAF_MEDIAN_M2, _LEAF_SIGMA = 3600.0, 1.0  # stopping threshold of the recursive split (lognormal)
SETBACK = (3.0, 10.0)
BUILDING_GAP_HALF = 3.0  # buildings stand >= 6 m apart
BUILDING_M2 = 1150.0  # parcel area per building (Poisson mean)
CELL_MIN_M2 = 600.0  # inner parcel area per building at most

# Economics (yuan).
TAX_MU_MEDIAN, TAX_BLOCK_SIGMA, TAX_TOWN_SIGMA, TAX_PARCEL_SIGMA = 85_000.0, 0.5, 0.2, 0.7
LOW_TAX, HIGH_TAX = 50_000.0, 150_000.0
ABOVE_SCALE_REVENUE = 20_000_000.0
ENTERPRISES_PER_PARCEL_P = (0.10, 0.70, 0.14, 0.06)  # 0, 1, 2, 3 firms
CLASS_BANDS = ((0.20, "A"), (0.60, "B"), (0.95, "C"), (1.01, "D"))
CLASS_YEAR = 2025

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


@dataclass
class SampleData:
    """The five sample tables; columns as in ``COLUMNS``, ids 1..n, geometries in the requested srid."""

    towns: pd.DataFrame
    blocks: pd.DataFrame
    parcels: pd.DataFrame
    buildings: pd.DataFrame
    enterprises: pd.DataFrame

    def summary(self) -> dict[str, int]:
        """Row count per table, in load order."""
        return {name: len(getattr(self, name)) for name in COLUMNS}


# --------------------------------------------------------------------------------------------------
# small helpers


def cn_numeral(n: int) -> str:
    """Chinese numeral for 1 <= n <= 9999 (二, 十一, 一百零一...)."""
    if not 1 <= n <= 9999:
        raise ValueError(f"cn_numeral: {n} out of range")
    digits = "零一二三四五六七八九"
    if n < 10:
        return digits[n]
    if n < 20:
        return "十" + (digits[n % 10] if n % 10 else "")
    out, zero = "", False
    for power, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        if power > n:
            continue
        d = n // power % 10
        if d == 0:
            zero = True
            continue
        if zero:
            out += "零"
            zero = False
        out += digits[d] + unit
    return out


def credit_code_check(code17: str) -> str:
    """Check character of a 统一社会信用代码 (GB 32100-2015) from its first 17 characters."""
    values = [_USCC_CHARS.index(c) for c in code17]
    return _USCC_CHARS[(31 - sum(v * int(w) for v, w in zip(values, _USCC_WEIGHTS, strict=True)) % 31) % 31]


def block_code(town_code: str, seq: int, width: int = 3) -> str:
    """区块编号: "QK" + 3-digit town suffix + "-" + sequence within the town (QK107-012)."""
    return f"QK{town_code[-3:]}-{seq:0{width}d}"


def parcel_code(town_code: str, block_seq: int, parcel_seq: int) -> str:
    """19-character 宗地代码: 330282 + town suffix + block seq (3 digits) + "GB" + parcel number (5 digits).

    A block sequence of 1000 or more wraps in its 3-digit field and its thousands move into the parcel
    number (``block_seq // 1000 * 1000 + parcel_seq``), so codes stay unique while parcel_seq <= 999.
    """
    if not 1 <= parcel_seq <= 999 or not 1 <= block_seq <= 99_999:
        raise ValueError("parcel code space exhausted")
    return f"330282{town_code[-3:]}{block_seq % 1000:03d}GB{block_seq // 1000 * 1000 + parcel_seq:05d}"


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ragged groups of the given sizes: owner index and position within the group of each item."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - starts[owner]


def _rank(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique values and the dense rank of every input value."""
    uniq, inv = np.unique(values, return_inverse=True)
    return uniq, inv.astype(np.int64).ravel()


def _report(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, int(done), int(total))


def _multipolygons(x: np.ndarray, y: np.ndarray, offsets: np.ndarray, stage: str,
                   progress: Progress | None, chunks: int = 20) -> np.ndarray:
    """One-part MultiPolygons from ragged closed rings (vertices offsets[i]:offsets[i+1]), in chunks."""
    n = offsets.size - 1
    out = np.empty(n, dtype=object)
    _report(progress, stage, 0, n)
    bounds = np.unique(np.linspace(0, n, max(1, min(chunks, n // 1000)) + 1).astype(np.int64))
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        s, e = offsets[a], offsets[b]
        ring_of = np.repeat(np.arange(b - a), np.diff(offsets[a:b + 1]))
        rings = shapely.linearrings(np.column_stack([x[s:e], y[s:e]]), indices=ring_of)
        out[a:b] = shapely.multipolygons(shapely.polygons(rings).reshape(-1, 1))
        _report(progress, stage, b, n)
    return out


def _as_multipolygon(geoms: np.ndarray) -> np.ndarray:
    """Each geometry as a MultiPolygon of its polygonal parts."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_type_id(parts) == 3
    out = shapely.multipolygons(parts[keep], indices=idx[keep])
    if out.size != len(geoms):
        raise AssertionError("a geometry lost all its polygonal parts")
    return out


def _rotated_rects(cx: np.ndarray, cy: np.ndarray, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray,
                   y1: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World coordinates (n, 5) of local rectangles [x0,x1]×[y0,y1] rotated and moved by a block transform."""
    lx = np.stack([x0, x1, x1, x0, x0], axis=1)
    ly = np.stack([y0, y0, y1, y1, y0], axis=1)
    c, s = cos[:, None], sin[:, None]
    return cx[:, None] + lx * c - ly * s, cy[:, None] + lx * s + ly * c


def _choice_rows(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """Category index per row from per-row cumulative probabilities (n, k)."""
    u = rng.random((cum.shape[0],))
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _statuses(u: np.ndarray) -> np.ndarray:
    """Status index per block: STATUS_P × n blocks rounded by largest remainder, given in the order of ``u``."""
    n = u.size
    want = np.asarray(STATUS_P) * n
    counts = np.floor(want).astype(np.int64)
    counts[np.argsort(-(want - counts), kind="stable")[:n - int(counts.sum())]] += 1
    out = np.empty(n, dtype=np.int64)
    out[np.argsort(u, kind="stable")] = np.repeat(np.arange(len(STATUS_P)), counts)
    return out


def _plan_years(status: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Plan year per block (0 before planning): the blocks of a status spread evenly over its PLAN_YEARS, in the
    order of ``u``."""
    out = np.zeros(status.size, dtype=np.int64)
    for name, (lo, hi) in PLAN_YEARS.items():
        sel = np.flatnonzero(status == BLOCK_STATUSES.index(name))
        rank = np.empty(sel.size, dtype=np.int64)
        rank[np.argsort(u[sel], kind="stable")] = np.arange(sel.size)
        out[sel] = lo + np.floor((rank + 0.5) / max(sel.size, 1) * (hi - lo + 1)).astype(np.int64)
    return out


def renovation_uplift(status: str, mode: str | None, plan_year: int | None) -> float:
    """Factor on a block's tax level (and so on its firms' tax and revenue) since its renovation: 1 unless accepted;
    else 1 + RENOVATION_UPLIFT of its mode, a third of it in the plan year's first year, all of it three years on.

    The programme's synthetic baselines (app.programme.sample) use it to tell the firms the uplift lifted above
    scale (revenue ÷ uplift below 2000万元) from those above scale before.
    """
    if status != "accepted" or mode not in RENOVATION_UPLIFT:
        return 1.0
    ramp = min(max((SAMPLE_YEAR - (plan_year or SAMPLE_YEAR)) / 3, 1 / 3), 1.0)
    return 1.0 + RENOVATION_UPLIFT[mode] * ramp


def _uplift(status: np.ndarray, mode: np.ndarray, mode_none: np.ndarray, plan_year: np.ndarray) -> np.ndarray:
    """renovation_uplift of every block (index arrays as the generator draws them)."""
    return np.array([renovation_uplift(BLOCK_STATUSES[s], None if nn else BLOCK_MODES[m], int(y))
                     for s, m, nn, y in zip(status.tolist(), mode.tolist(), mode_none.tolist(), plan_year.tolist(),
                                            strict=True)], dtype=float)


# --------------------------------------------------------------------------------------------------
# reference data


def load_county(srid: int = 4549) -> shapely.MultiPolygon:
    """The county outline (mainland + islet, OSM/geoBoundaries 2017) projected to ``srid``."""
    with COUNTY_FILE.open(encoding="utf-8") as f:
        feature = json.load(f)["features"][0]
    geom = shapely.geometry.shape(feature["geometry"])
    tr = Transformer.from_crs(4326, srid, always_xy=True)
    out = shapely.transform(geom, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    return _as_multipolygon(np.array([out], dtype=object))[0]


def load_towns(srid: int = 4549) -> pd.DataFrame:
    """The 24 town-level units with their seats (GeoNames or ``SYNTHETIC_SEATS``) projected to ``srid``.

    Columns: code, name, kind, seat_synthetic, lon, lat, x, y.
    """
    df = pd.read_csv(TOWNS_FILE, dtype=str, keep_default_na=False)
    kind = [next(v for k, v in TOWN_KINDS.items() if s.startswith(k)) for s in df["kind"]]
    lon = np.empty(len(df))
    lat = np.empty(len(df))
    synthetic = np.zeros(len(df), dtype=bool)
    for i, row in enumerate(df.itertuples(index=False)):
        if row.gn_lon_wgs84:
            lon[i], lat[i] = float(row.gn_lon_wgs84), float(row.gn_lat_wgs84)
        else:
            lon[i], lat[i] = SYNTHETIC_SEATS[row.code9]
            synthetic[i] = True
    tr = Transformer.from_crs(4326, srid, always_xy=True)
    x, y = tr.transform(lon, lat)
    return pd.DataFrame({"code": df["code9"].tolist(), "name": df["name"].tolist(), "kind": kind,
                         "seat_synthetic": synthetic, "lon": lon, "lat": lat,
                         "x": np.asarray(x, dtype=float), "y": np.asarray(y, dtype=float)})


def _village_names(codes: list[str]) -> list[list[str]]:
    """Per town: real village names (XX村 from XX村委会) and community names, in NBS order."""
    df = pd.read_csv(VILLAGES_FILE, dtype=str, keep_default_na=False)
    out: list[list[str]] = []
    for code in codes:
        names = df.loc[df["town_code9"] == code, "name"].tolist()
        villages = [n[:-2] for n in names if n.endswith("村委会")]
        communities = [n for n in names if n.endswith("社区") and "虚拟" not in n]
        out.append(villages + communities)
    return out


def _zone_short_names(codes: list[str]) -> dict[str, str]:
    """Short names of the statistical zones from their single virtual community (慈东, 高新区, 环创...)."""
    df = pd.read_csv(VILLAGES_FILE, dtype=str, keep_default_na=False)
    out = {}
    for code in codes:
        names = df.loc[df["town_code9"] == code, "name"].tolist()
        if len(names) == 1 and "虚拟" in names[0]:
            short = names[0].split("虚拟")[0]
            out[code] = short.removesuffix("工业区") or short
    return out


# --------------------------------------------------------------------------------------------------
# towns


def _towns(county: shapely.MultiPolygon, towns: pd.DataFrame) -> np.ndarray:
    """Synthetic town polygons: Voronoi cells of the seats clipped to the county."""
    seats = shapely.points(towns["x"].to_numpy(), towns["y"].to_numpy())
    if not shapely.contains(county, seats).all():
        raise AssertionError("a town seat lies outside the county")
    d = np.hypot(towns["x"].to_numpy()[:, None] - towns["x"].to_numpy()[None, :],
                 towns["y"].to_numpy()[:, None] - towns["y"].to_numpy()[None, :])
    np.fill_diagonal(d, np.inf)
    synth = towns["seat_synthetic"].to_numpy()
    if (d[synth].min(axis=1) < MIN_SEAT_DISTANCE_M).any():
        raise AssertionError("a synthetic seat is closer than 2 km to another seat")
    extent = shapely.box(*county.bounds).buffer(50_000.0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seats), extend_to=extent))
    match = shapely.contains(cells[None, :], seats[:, None])
    if not (match.sum(axis=1) == 1).all():
        raise AssertionError("Voronoi cells do not match the seats one to one")
    geoms = _as_multipolygon(shapely.intersection(cells[match.argmax(axis=1)], county))
    if abs(shapely.area(geoms).sum() - county.area) > 1.0:
        raise AssertionError("town polygons do not cover the county")
    return geoms


# --------------------------------------------------------------------------------------------------
# blocks


@dataclass
class _Blocks:
    cx: np.ndarray
    cy: np.ndarray
    w: np.ndarray
    h: np.ndarray
    cos: np.ndarray
    sin: np.ndarray
    town: np.ndarray  # index into towns
    seq: np.ndarray  # 1-based sequence within the town
    inside: np.ndarray  # the block lies inside the county outline


def _place_blocks(rng: np.random.Generator, n: int, county: shapely.MultiPolygon, town_geoms: np.ndarray,
                  town_weight: np.ndarray) -> _Blocks:
    """Rotated rectangles on a jittered grid: cells inside the county first, then the nearest outside."""
    minx, miny, maxx, maxy = county.bounds
    nx0, ny0 = math.ceil((maxx - minx) / CELL), math.ceil((maxy - miny) / CELL)
    ring = 0
    while (nx0 + 2 * ring) * (ny0 + 2 * ring) < n + nx0 * ny0:
        ring += 1
    nx, ny = nx0 + 2 * ring, ny0 + 2 * ring
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="xy")
    gx = (minx + maxx) / 2 + (ii.ravel() - (nx - 1) / 2) * CELL
    gy = (miny + maxy) / 2 + (jj.ravel() - (ny - 1) / 2) * CELL
    m = gx.size
    w = rng.uniform(*BLOCK_SIDE, m)
    h = rng.uniform(*BLOCK_SIDE, m)
    theta = np.radians(np.clip(rng.normal(0.0, BLOCK_ROT_SD_DEG, m), -BLOCK_ROT_MAX_DEG, BLOCK_ROT_MAX_DEG))
    cos, sin = np.cos(theta), np.sin(theta)
    bw = w * np.abs(cos) + h * np.abs(sin)
    bh = w * np.abs(sin) + h * np.abs(cos)
    k = np.minimum(1.0, (CELL - BLOCK_GAP) / np.maximum(bw, bh))
    w, h, bw, bh = w * k, h * k, bw * k, bh * k
    cx = gx + rng.uniform(-1.0, 1.0, m) * (CELL - BLOCK_GAP - bw) / 2
    cy = gy + rng.uniform(-1.0, 1.0, m) * (CELL - BLOCK_GAP - bh) / 2
    key = rng.exponential(1.0, m)

    xs, ys = _rotated_rects(cx, cy, -w / 2, -h / 2, w / 2, h / 2, cos, sin)
    polys = shapely.polygons(np.stack([xs, ys], axis=-1))
    shapely.prepare(county)
    inside = shapely.within(polys, county)
    town = np.full(m, -1, dtype=np.int64)
    for t in range(town_geoms.size - 1, -1, -1):  # first town in NBS order wins on a shared edge
        town[shapely.intersects_xy(town_geoms[t], cx, cy)] = t
    weight = np.where(town >= 0, town_weight[np.maximum(town, 0)], 1.0)

    ins = np.flatnonzero(inside)
    ins = ins[np.argsort(key[ins] / weight[ins], kind="stable")]
    out = np.flatnonzero(~inside)
    out = out[np.lexsort((key[out], shapely.distance(polys[out], county)))]
    chosen = np.concatenate([ins, out])[:n]
    if chosen.size < n:
        raise AssertionError("not enough grid cells")
    tc = town[chosen]
    lost = np.flatnonzero(tc < 0)
    if lost.size:
        dist = shapely.distance(town_geoms[None, :], shapely.points(cx[chosen[lost]], cy[chosen[lost]])[:, None])
        tc[lost] = dist.argmin(axis=1)
    # sequence within the town in placement order; final order by (town, seq)
    order = np.lexsort((np.arange(n), tc))
    seq = np.empty(n, dtype=np.int64)
    starts = np.searchsorted(tc[order], np.arange(town_geoms.size))
    seq[order] = np.arange(n) - starts[tc[order]] + 1
    final = np.lexsort((seq, tc))
    c = chosen[final]
    return _Blocks(cx=cx[c], cy=cy[c], w=w[c], h=h[c], cos=cos[c], sin=sin[c], town=tc[final], seq=seq[final],
                   inside=inside[c])


# --------------------------------------------------------------------------------------------------
# parcels


@dataclass
class _Rects:
    owner: np.ndarray  # block (for parcels) or parcel (for building cells) index
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray


def _split_parcels(rng: np.random.Generator, w: np.ndarray, h: np.ndarray) -> _Rects:
    """Recursive guillotine split of each block (local frame, centred) into parcels, in depth-first order."""
    nb = w.size
    owner, path, depth = np.arange(nb), np.zeros(nb, np.int64), np.zeros(nb, np.int64)
    x0, y0, x1, y1 = -w / 2, -h / 2, w / 2, h / 2
    leaves: list[tuple[np.ndarray, ...]] = []
    while owner.size:
        dx, dy = x1 - x0, y1 - y0
        area = dx * dy
        t = rng.lognormal(math.log(_LEAF_MEDIAN_M2), _LEAF_SIGMA, owner.size)
        split = (area > _SPLIT_MAX) | ((area > t) & (area >= _SPLIT_MIN))
        leaf = ~split
        leaves.append((owner[leaf], x0[leaf], y0[leaf], x1[leaf], y1[leaf], path[leaf], depth[leaf]))
        owner, x0, y0, x1, y1 = owner[split], x0[split], y0[split], x1[split], y1[split]
        path, depth, dx, dy = path[split], depth[split], dx[split], dy[split]
        f = rng.uniform(*_CUT, owner.size)
        along_x = dx >= dy
        cut = np.where(along_x, x0 + f * dx, y0 + f * dy)
        owner = np.concatenate([owner, owner])
        x0, x1 = np.concatenate([x0, np.where(along_x, cut, x0)]), np.concatenate([np.where(along_x, cut, x1), x1])
        y0, y1 = np.concatenate([y0, np.where(along_x, y0, cut)]), np.concatenate([np.where(along_x, y1, cut), y1])
        path = np.concatenate([path * 2, path * 2 + 1])
        depth = np.concatenate([depth, depth]) + 1
    cols = [np.concatenate(c) for c in zip(*leaves, strict=True)]
    if cols[6].max() > 60:
        raise AssertionError("split too deep")
    key = cols[5] << (61 - cols[6])
    order = np.lexsort((key, cols[0]))
    return _Rects(*(c[order] for c in cols[:5]))


def _noded_rings(r: _Rects) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed rings of a guillotine tiling with every T-junction inserted as a vertex.

    Returns local x, y of all vertices and ring offsets. Neighbouring rings share identical vertex
    values along their common edges, so the tiling is an exactly noded polygonal coverage.
    """
    n = r.owner.size
    ux, rx = _rank(np.concatenate([r.x0, r.x1]))
    uy, ry = _rank(np.concatenate([r.y0, r.y1]))
    rx0, rx1, ry0, ry1 = rx[:n], rx[n:], ry[:n], ry[n:]
    nx, ny, b = ux.size, uy.size, r.owner.astype(np.int64)
    if (b.max(initial=0) + 1) * nx * ny >= 2**62:
        raise AssertionError("noding key overflow")
    cx = np.concatenate([rx0, rx1, rx1, rx0])
    cy = np.concatenate([ry0, ry0, ry1, ry1])
    cb = np.concatenate([b, b, b, b])
    hp = np.unique((cb * ny + cy) * nx + cx)  # corners sorted along horizontal lines
    vp = np.unique((cb * nx + cx) * ny + cy)  # corners sorted along vertical lines

    def h_range(ry_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = (b * ny + ry_) * nx
        return np.searchsorted(hp, base + rx0, "right"), np.searchsorted(hp, base + rx1, "left")

    def v_range(rx_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        base = (b * nx + rx_) * ny
        return np.searchsorted(vp, base + ry0, "right"), np.searchsorted(vp, base + ry1, "left")

    (lb, hb), (lt, ht) = h_range(ry0), h_range(ry1)
    (lr, hr), (ll, hl) = v_range(rx1), v_range(rx0)
    kb, kr, kt, kl = hb - lb, hr - lr, ht - lt, hl - ll
    nverts = 5 + kb + kr + kt + kl
    offsets = np.concatenate([[0], np.cumsum(nverts)])
    p0 = offsets[:-1]
    p1 = p0 + 1 + kb
    p2 = p1 + 1 + kr
    p3 = p2 + 1 + kt
    p4 = p3 + 1 + kl
    x = np.empty(offsets[-1])
    y = np.empty(offsets[-1])
    for p, xv, yv in ((p0, r.x0, r.y0), (p1, r.x1, r.y0), (p2, r.x1, r.y1), (p3, r.x0, r.y1), (p4, r.x0, r.y0)):
        x[p], y[p] = xv, yv
    o, j = _expand(kb)  # bottom edge, x ascending
    x[p0[o] + 1 + j], y[p0[o] + 1 + j] = ux[hp[lb[o] + j] % nx], r.y0[o]
    o, j = _expand(kr)  # right edge, y ascending
    x[p1[o] + 1 + j], y[p1[o] + 1 + j] = r.x1[o], uy[vp[lr[o] + j] % ny]
    o, j = _expand(kt)  # top edge, x descending
    x[p2[o] + 1 + j], y[p2[o] + 1 + j] = ux[hp[ht[o] - 1 - j] % nx], r.y1[o]
    o, j = _expand(kl)  # left edge, y descending
    x[p3[o] + 1 + j], y[p3[o] + 1 + j] = r.x0[o], uy[vp[hl[o] - 1 - j] % ny]
    return x, y, offsets


# --------------------------------------------------------------------------------------------------
# buildings


def _split_cells(rng: np.random.Generator, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray,
                 k: np.ndarray) -> _Rects:
    """Guillotine split of each parcel's buildable rectangle into k[i] cells, in depth-first order."""
    owner, path, depth = np.arange(k.size), np.zeros(k.size, np.int64), np.zeros(k.size, np.int64)
    cnt = k.astype(np.int64)
    leaves: list[tuple[np.ndarray, ...]] = []
    while owner.size:
        leaf = cnt <= 1
        leaves.append((owner[leaf], x0[leaf], y0[leaf], x1[leaf], y1[leaf], path[leaf], depth[leaf]))
        s = ~leaf
        owner, x0, y0, x1, y1, path, depth, cnt = (a[s] for a in (owner, x0, y0, x1, y1, path, depth, cnt))
        n1 = cnt // 2 + (rng.random(owner.size) < 0.5) * (cnt % 2)
        f = np.clip(n1 / cnt * rng.uniform(0.88, 1.12, owner.size), 0.2, 0.8)
        dx, dy = x1 - x0, y1 - y0
        along_x = dx >= dy
        cut = np.where(along_x, x0 + f * dx, y0 + f * dy)
        owner = np.concatenate([owner, owner])
        x0, x1 = np.concatenate([x0, np.where(along_x, cut, x0)]), np.concatenate([np.where(along_x, cut, x1), x1])
        y0, y1 = np.concatenate([y0, np.where(along_x, y0, cut)]), np.concatenate([np.where(along_x, y1, cut), y1])
        path = np.concatenate([path * 2, path * 2 + 1])
        depth = np.concatenate([depth, depth]) + 1
        cnt = np.concatenate([n1, cnt - n1])
    cols = [np.concatenate(c) for c in zip(*leaves, strict=True)]
    key = cols[5] << (61 - cols[6])
    order = np.lexsort((key, cols[0]))
    return _Rects(*(c[order] for c in cols[:5]))


# --------------------------------------------------------------------------------------------------
# names and codes


def _company_names(rng: np.random.Generator, n: int, industry: np.ndarray) -> list[str]:
    """``n`` distinct synthetic company names (慈溪市宏达电器有限公司); ``industry`` biases the trade word."""
    words = sorted({w for ws in INDUSTRY_WORDS.values() for w in ws})
    word_idx = {w: i for i, w in enumerate(words)}
    pref = np.array([[word_idx[w] for w in INDUSTRY_WORDS[ind]] for ind in INDUSTRIES])
    nc, nw, ns = len(NAME_CHARS), len(words), len(NAME_SUFFIXES)
    suffix_cum = np.cumsum(NAME_SUFFIX_P)

    def draw(rows: np.ndarray) -> np.ndarray:
        m = rows.size
        city = (rng.random(m) < 0.15).astype(np.int64)  # 0 慈溪市, 1 宁波
        c1 = rng.integers(0, nc, m)
        c2 = (c1 + rng.integers(1, nc, m)) % nc
        c3 = np.where(rng.random(m) < 0.3, rng.integers(1, nc + 1, m), 0)  # 0: two-character name
        biased = rng.random(m) < 0.65
        word = np.where(biased, pref[industry[rows], rng.integers(0, pref.shape[1], m)], rng.integers(0, nw, m))
        suffix = np.minimum(np.searchsorted(suffix_cum, rng.random(m), side="right"), ns - 1)
        return ((((city * nc + c1) * nc + c2) * (nc + 1) + c3) * nw + word) * ns + suffix

    ids = draw(np.arange(n))
    for _ in range(100):
        _, first = np.unique(ids, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        ids[dup] = draw(np.flatnonzero(dup))
    else:
        raise AssertionError("could not draw distinct company names")
    out = []
    for v in ids.tolist():
        v, suffix = divmod(v, ns)
        v, word = divmod(v, nw)
        v, c3 = divmod(v, nc + 1)
        v, c2 = divmod(v, nc)
        city, c1 = divmod(v, nc)
        trade = NAME_CHARS[c1] + NAME_CHARS[c2] + (NAME_CHARS[c3 - 1] if c3 else "")
        out.append(("宁波" if city else "慈溪市") + trade + words[word] + NAME_SUFFIXES[suffix])
    return out


def _credit_codes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 统一社会信用代码 of Cixi enterprises (91 330282 + organisation code + check)."""
    digits = np.array([_USCC_CHARS.index(c) for c in "91330282"], dtype=np.int64)
    letters = np.array([i for i, c in enumerate(_USCC_CHARS) if c.isalpha()])
    gb11714 = np.array([int(c, 36) for c in _USCC_CHARS], dtype=np.int64)  # value of a char in GB 11714

    def draw(m: int) -> np.ndarray:
        body = rng.integers(0, 10, (m, 8))  # old-style organisation code: 8 digits
        new = rng.random(m) < 0.45  # post-2015 style: MA + 6 characters
        body[new, 0] = _USCC_CHARS.index("M")
        body[new, 1] = _USCC_CHARS.index("A")
        body[new, 2] = rng.choice(np.array([2, _USCC_CHARS.index("C")]), new.sum(), p=(0.8, 0.2))
        body[new, 3:] = np.where(rng.random((new.sum(), 5)) < 0.5, rng.integers(0, 10, (new.sum(), 5)),
                                 rng.choice(letters, (new.sum(), 5)))
        c9 = 11 - (gb11714[body] * _ORG_WEIGHTS).sum(axis=1) % 11
        c9 = np.where(c9 == 11, 0, c9)
        c9 = np.where(c9 == 10, _USCC_CHARS.index("X"), c9)
        v17 = np.column_stack([np.broadcast_to(digits, (m, 8)), body, c9])
        c18 = (31 - (v17 * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
        return np.column_stack([v17, c18])

    v = draw(n)
    radix = 31 ** np.arange(8, dtype=np.int64)  # the 8 free characters identify a code
    for _ in range(100):
        _, first = np.unique(v[:, 8:16] @ radix, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            break
        v[dup] = draw(int(dup.sum()))
    else:
        raise AssertionError("could not draw distinct credit codes")
    chars = np.array([ord(c) for c in _USCC_CHARS], dtype=np.uint32)
    return np.ascontiguousarray(chars[v]).view("<U18").ravel()


def _surveyed(rng: np.random.Generator, floors: np.ndarray, floor_h: np.ndarray, footprint: np.ndarray,
              shed: np.ndarray) -> dict[str, pd.Series]:
    """Floor area as surveyed on a few buildings (issue 14), from a generator of its own so that no other value of
    the sample changes, and chosen so that no figure changes either: about 6 % of the multi-storey buildings
    carry their storey heights, a ground floor 0.3–1.2 m taller than the others (all at most 8 m, so each storey
    counts once, as before), and about 4 % of the buildings that are not sheds a basement of one or two storeys
    used as garage or plant room (×0 in 容积率), half of them with a surveyed floor area."""
    n = len(floors)
    storeys = (floors >= 2) & (rng.random(n) < 0.06)
    ground = np.minimum(np.round(floor_h + rng.uniform(0.3, 1.2, n), 1), 8.0)
    storey_hs = [("{" + ",".join([f"{g:g}"] + [f"{h:g}"] * (f - 1)) + "}") if s else None
                 for s, g, h, f in zip(storeys.tolist(), ground.tolist(), floor_h.tolist(), floors.tolist(),
                                       strict=True)]
    basement = ~shed & (rng.random(n) < 0.04)
    levels = np.where(rng.random(n) < 0.8, 1, 2)
    uses = np.where(rng.random(n) < 0.7, "garage", "plant")
    area = np.round(footprint * levels * rng.uniform(0.9, 1.3, n), 2)
    surveyed = rng.random(n) < 0.5
    return {
        "storey_hs": pd.Series(storey_hs, dtype=object),
        "basement_floors": pd.Series(np.where(basement, levels, 0), dtype="Int16").where(basement),
        "basement_use": pd.Series([u if b else None for u, b in zip(uses.tolist(), basement.tolist(), strict=True)],
                                  dtype=object),
        "basement_area": pd.Series([float(a) if b and v else None for a, b, v in
                                    zip(area.tolist(), basement.tolist(), surveyed.tolist(), strict=True)],
                                   dtype=object),
    }


def _land_uses(rng: np.random.Generator, warehouse: np.ndarray) -> list[str]:
    """Land use as written (issue 14): each parcel's class (warehouse or industrial, as drawn before) in one of the
    schemes of :data:`LAND_USE_INDUSTRIAL` / :data:`LAND_USE_WAREHOUSE`, from a generator of its own so that no
    other value of the sample changes."""
    n = len(warehouse)
    out = np.empty(n, dtype=object)
    for mask, table in ((~warehouse, LAND_USE_INDUSTRIAL), (warehouse, LAND_USE_WAREHOUSE)):
        names = [name for name, _ in table]
        p = np.array([w for _, w in table])
        out[mask] = np.array(names, dtype=object)[rng.choice(len(names), int(mask.sum()), p=p / p.sum())]
    return out.tolist()


def _industry_codes(rng: np.random.Generator, industry: np.ndarray) -> list[str | None]:
    """A GB/T 4754-2017 class per firm from its block's industry positioning (:data:`INDUSTRY_CODES`; a few
    without), from a generator of its own so that no other value of the sample changes."""
    pick = rng.random(len(industry))
    missing = rng.random(len(industry)) < INDUSTRY_CODE_MISSING_P
    codes = [INDUSTRY_CODES[INDUSTRIES[i]] for i in industry.tolist()]
    return [None if m else c[int(u * len(c))] for c, u, m in zip(codes, pick.tolist(), missing.tolist(), strict=True)]


def _fmt(prefixes: np.ndarray, numbers: np.ndarray, width: int, sep: str = "") -> list[str]:
    return [f"{p}{sep}{v:0{width}d}" for p, v in zip(prefixes.tolist(), numbers.tolist(), strict=True)]


# --------------------------------------------------------------------------------------------------
# the generator


def generate(scale: float = 0.02, seed: int = 42, srid: int = 4549,
             progress: Progress | None = None) -> SampleData:
    """Generate the synthetic Cixi sample.

    ``scale`` 1 is city size: 400 blocks, about 50,000 parcels, 200,000 buildings and 57,000 enterprises;
    counts scale linearly (at least one block). ``srid`` must be a projected CRS in metres (default
    EPSG:4549, CGCS2000 3-degree GK CM 120E). ``progress(stage, done, total)`` is called a few times per
    stage (towns, blocks, parcels, buildings, enterprises). The same arguments give identical output.
    """
    crs = CRS.from_epsg(srid)
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise ValueError(f"EPSG:{srid} is not a projected CRS in metres")
    if not scale > 0:
        raise ValueError("scale must be positive")
    rng = np.random.default_rng(seed)
    n_blocks = max(1, round(400 * scale))

    # towns ---------------------------------------------------------------------------------------
    _report(progress, "towns", 0, 24)
    county = load_county(srid)
    tw = load_towns(srid)
    codes = tw["code"].tolist()
    town_geoms = _towns(county, tw)
    nt = len(tw)
    kind_w = np.array([ZONE_WEIGHT_OVERRIDE.get(c, KIND_WEIGHT[k]) for c, k in zip(codes, tw["kind"], strict=True)])
    towns = pd.DataFrame({
        "id": np.arange(1, nt + 1, dtype=np.int64), "code": codes, "name": tw["name"].tolist(),
        "kind": tw["kind"].tolist(), "seat_synthetic": tw["seat_synthetic"].to_numpy(), "geom": town_geoms,
    })
    _report(progress, "towns", nt, nt)

    # blocks --------------------------------------------------------------------------------------
    _report(progress, "blocks", 0, n_blocks)
    bl = _place_blocks(rng, n_blocks, county, town_geoms, kind_w)
    nb = n_blocks
    bt = bl.town
    max_seq = np.zeros(nt, dtype=np.int64)
    np.maximum.at(max_seq, bt, bl.seq)
    block_codes = [block_code(codes[t], s, 3 if max_seq[t] <= 999 else 4)
                   for t, s in zip(bt.tolist(), bl.seq.tolist(), strict=True)]
    # names: villages of the town in a random cycle; repeats get 二区, 三区...
    pools = _village_names(codes)
    zone_short = _zone_short_names(codes)
    perms = [rng.permutation(len(p)) for p in pools]
    block_names = []
    for t, s in zip(bt.tolist(), bl.seq.tolist(), strict=True):
        if pools[t]:
            k, r = divmod(s - 1, len(pools[t]))
            block_names.append(pools[t][perms[t][r]] + "工业区块" + (cn_numeral(k + 1) + "区" if k else ""))
        else:
            base = zone_short.get(codes[t], tw["name"].iat[t])
            block_names.append(f"{base}{s}号工业区块")
    # tax intensity (yuan/亩), lognormal by town and block; the sample always shows both tails
    town_eff = rng.normal(0.0, TAX_TOWN_SIGMA, nt)
    level = np.exp(math.log(TAX_MU_MEDIAN) + town_eff[bt] + rng.normal(0.0, TAX_BLOCK_SIGMA, nb))
    if nb >= 3:
        if not (level < LOW_TAX).any():
            level[np.argmin(level)] = 0.84 * LOW_TAX
        if not (level > HIGH_TAX).any():
            level[np.argmax(level)] = 1.2 * HIGH_TAX
    z = np.log(level / TAX_MU_MEDIAN) / TAX_BLOCK_SIGMA  # standardised, low = poor (before any renovation)
    status = _statuses(rng.random(nb))
    mode_cum = np.cumsum(np.column_stack([np.clip(MODE_P[0] - 0.12 * z, 0.05, 0.7), np.full(nb, MODE_P[1]),
                                          np.clip(MODE_P[2] + 0.08 * z, 0.05, 0.7)]), axis=1)
    mode = _choice_rows(rng, mode_cum / mode_cum[:, -1:])
    mode_none = (status == 0) & (rng.random(nb) < 0.8)
    industry = rng.choice(len(INDUSTRIES), nb, p=INDUSTRY_P)
    plan_year = _plan_years(status, rng.random(nb))
    flags = {name: rng.random(nb) < _sigmoid(a - b * z) for name, a, b in (
        ("fire_hazard", -0.6, 1.2), ("illegal_buildings", -0.3, 1.0), ("low_industry", -1.0, 2.0),
        ("poor_environment", -0.8, 1.0))}
    # the tax now: accepted blocks earn more since their renovation (firms' revenue follows, so more are above scale)
    level = level * _uplift(status, mode, mode_none, plan_year)
    if nb >= 3 and not (level < LOW_TAX).any():  # keep both tails after the uplift
        level[np.argmin(level)] = 0.84 * LOW_TAX
    bxs, bys = _rotated_rects(bl.cx, bl.cy, -bl.w / 2, -bl.h / 2, bl.w / 2, bl.h / 2, bl.cos, bl.sin)
    block_geom = shapely.multipolygons(shapely.polygons(np.stack([bxs, bys], axis=-1)).reshape(-1, 1))
    blocks = pd.DataFrame({
        "id": np.arange(1, nb + 1, dtype=np.int64), "code": block_codes, "name": block_names,
        "town_id": bt + 1, "status": [BLOCK_STATUSES[s] for s in status.tolist()],
        "mode": pd.Series([None if nn else BLOCK_MODES[m] for m, nn in zip(mode.tolist(), mode_none.tolist(),
                                                                             strict=True)], dtype=object),
        "industry": [INDUSTRIES[i] for i in industry.tolist()],
        "plan_year": pd.Series([y if s >= 2 else None for y, s in zip(plan_year.tolist(), status.tolist(),
                                                                      strict=True)], dtype=object),
        **flags, "geom": block_geom,
    })
    _report(progress, "blocks", nb, nb)

    # parcels -------------------------------------------------------------------------------------
    pr = _split_parcels(rng, bl.w, bl.h)
    npc = pr.owner.size
    pb = pr.owner
    pdx, pdy = pr.x1 - pr.x0, pr.y1 - pr.y0
    parea = pdx * pdy
    if parea.min() < PARCEL_MIN_M2 or parea.max() > PARCEL_MAX_M2:
        raise AssertionError("parcel area out of range")
    if (np.maximum(pdx, pdy) / np.minimum(pdx, pdy)).max() > 4.0:
        raise AssertionError("parcel too elongated")
    first = np.concatenate([[True], pb[1:] != pb[:-1]])
    pstart = np.flatnonzero(first)
    pseq = np.arange(npc) - pstart[np.cumsum(first) - 1] + 1
    ptown = bt[pb]
    parcel_codes = [parcel_code(codes[t], s, q)
                    for t, s, q in zip(ptown.tolist(), bl.seq[pb].tolist(), pseq.tolist(), strict=True)]
    if len(set(parcel_codes)) != npc:
        raise AssertionError("parcel codes are not unique")
    lx, ly, offs = _noded_rings(pr)
    vb = np.repeat(pb, np.diff(offs))
    wx = bl.cx[vb] + lx * bl.cos[vb] - ly * bl.sin[vb]
    wy = bl.cy[vb] + lx * bl.sin[vb] + ly * bl.cos[vb]
    parcel_geom = _multipolygons(wx, wy, offs, "parcels", progress)
    del lx, ly, wx, wy, vb

    mu = parea * 15 / 10000
    land_use = np.where(rng.random(npc) < 0.08, "仓储用地", "工业用地")
    # owners: a parcel sometimes belongs to the owner of the previous (adjacent) parcel of its block
    prev = np.arange(npc) - 1
    adjacent = np.zeros(npc, dtype=bool)
    adjacent[1:] = (~first[1:]) & (
        (((pr.x1[prev[1:]] == pr.x0[1:]) | (pr.x0[prev[1:]] == pr.x1[1:]))
         & (np.minimum(pr.y1[prev[1:]], pr.y1[1:]) - np.maximum(pr.y0[prev[1:]], pr.y0[1:]) > 1.0))
        | (((pr.y1[prev[1:]] == pr.y0[1:]) | (pr.y0[prev[1:]] == pr.y1[1:]))
           & (np.minimum(pr.x1[prev[1:]], pr.x1[1:]) - np.maximum(pr.x0[prev[1:]], pr.x0[1:]) > 1.0)))
    same_owner = adjacent & (rng.random(npc) < 0.15)
    group = np.cumsum(~same_owner) - 1
    ng = int(group[-1]) + 1
    group_first = np.flatnonzero(~same_owner)
    collective = (rng.random(ng) < 0.04) & np.array([len(pools[t]) > 0 for t in ptown[group_first].tolist()])
    vill_pick = rng.random(ng)
    # grant dates and terms
    grant_year = rng.integers(1990, 2023, npc)
    term = np.where(grant_year >= 2014, rng.choice([50, 30, 20], npc, p=(0.4, 0.3, 0.3)),
                    rng.choice([50, 40], npc, p=(0.85, 0.15)))
    year_start = (grant_year + term - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    term_end = year_start + rng.integers(0, 365, npc)  # the grant's day of year, term years later
    term_end = np.minimum(term_end, np.datetime64("2072-12-31"))
    supp_share = np.where(rng.random(npc) < 0.15, 0.0,
                          np.where(rng.random(npc) < 0.12, rng.uniform(0.15, 0.20, npc), rng.uniform(0.02, 0.15, npc)))
    green_share = 0.25 * rng.beta(3.0, 4.0, npc)  # mean 11%, a few above the 20% cap
    supp_m2 = np.floor(parea * supp_share * 100) / 100
    green_m2 = np.floor(parea * green_share * 100) / 100
    _report(progress, "parcels", npc, npc)

    # buildings -----------------------------------------------------------------------------------
    short = np.minimum(pdx, pdy)
    setback = np.clip(rng.uniform(*SETBACK, npc), SETBACK[0], np.maximum(SETBACK[0], 0.1 * short))
    inset = setback - BUILDING_GAP_HALF
    ix0, iy0, ix1, iy1 = pr.x0 + inset, pr.y0 + inset, pr.x1 - inset, pr.y1 - inset
    inner = (ix1 - ix0) * (iy1 - iy0)
    kmax = np.maximum(1, np.minimum(40, np.floor(inner / CELL_MIN_M2))).astype(np.int64)
    k = np.clip(rng.poisson(parea / BUILDING_M2), 1, kmax)
    cells = _split_cells(rng, ix0, iy0, ix1, iy1, k)
    nbld = cells.owner.size
    _report(progress, "buildings", 0, nbld)
    bp = cells.owner
    ax0, ay0 = cells.x0 + BUILDING_GAP_HALF, cells.y0 + BUILDING_GAP_HALF
    aw, ah = cells.x1 - cells.x0 - 2 * BUILDING_GAP_HALF, cells.y1 - cells.y0 - 2 * BUILDING_GAP_HALF
    if min(aw.min(), ah.min()) < 3.0:
        raise AssertionError("building cell too small")
    cover = rng.uniform(0.25, 0.6, npc)
    target = cover[bp] * parea[bp] * (aw * ah) / np.bincount(bp, aw * ah, npc)[bp]
    bfirst = np.concatenate([[True], bp[1:] != bp[:-1]])
    largest = np.zeros(nbld, dtype=bool)
    order = np.lexsort((-(aw * ah), bp))
    largest[order[np.concatenate([[True], bp[order][1:] != bp[order][:-1]])]] = True
    shed_p = np.where(flags["illegal_buildings"][pb[bp]], 0.10, 0.035)
    shed = (rng.random(nbld) < shed_p) & ~largest
    shed_area = rng.uniform(30.0, 250.0, nbld)
    target = np.where(shed, shed_area, target)
    stretch = np.exp(rng.uniform(-0.15, 0.15, nbld))
    shed_aspect = rng.uniform(1.0, 2.5, nbld)
    r = np.sqrt(target / (aw * ah))
    bw = np.where(shed, np.sqrt(target * shed_aspect), aw * r * stretch)
    bw = np.clip(bw, np.minimum(aw, 4.0), aw)
    bh = np.clip(target / bw, np.minimum(ah, 4.0), ah)
    bx0 = ax0 + rng.random(nbld) * (aw - bw)
    by0 = ay0 + rng.random(nbld) * (ah - bh)
    b_of = pb[bp]
    gxs, gys = _rotated_rects(bl.cx[b_of], bl.cy[b_of], bx0, by0, bx0 + bw, by0 + bh, bl.cos[b_of], bl.sin[b_of])
    building_geom = _multipolygons(gxs.ravel(), gys.ravel(), np.arange(nbld + 1) * 5, "buildings", progress)
    footprint = bw * bh
    # use, floors, storey height
    warehouse_parcel = land_use[bp] == "仓储用地"
    use = rng.choice(len(BUILDING_USES), nbld, p=BUILDING_USE_P)
    use = np.where(largest, np.where(warehouse_parcel, 1, 0), use)
    use = np.where(warehouse_parcel & ~largest & (rng.random(nbld) < 0.5), 1, use)
    use = np.where(shed, np.where(rng.random(nbld) < 0.6, 5, 1), use)
    floors = np.ones(nbld, dtype=np.int64)
    u_floor = rng.random(nbld)
    for ui, uname in enumerate(BUILDING_USES):
        sel = use == ui
        floors[sel] = np.searchsorted(np.cumsum(FLOORS_P[uname]), u_floor[sel], side="right") + 1
    floors = np.where(shed, 1, np.minimum(floors, 8))
    u_h = rng.random(nbld)
    high_p = np.select([use == 0, use == 1], [0.50, 0.40], 0.0)
    single = floors == 1
    h_high = rng.uniform(8.5, 12.0, nbld)
    h_single = rng.uniform(4.5, 7.5, nbld)
    h_multi = np.select([use <= 1, use == 2, use == 3, use == 4],
                        [rng.uniform(3.8, 6.0, nbld), rng.uniform(3.6, 4.5, nbld), rng.uniform(3.0, 3.6, nbld),
                         rng.uniform(3.6, 5.0, nbld)], rng.uniform(3.2, 4.5, nbld))
    floor_h = np.where(single, np.where(u_h < high_p, h_high, np.where(u_h < high_p + 0.08, 8.0, h_single)), h_multi)
    floor_h = np.where(shed, rng.uniform(2.8, 5.0, nbld), floor_h)
    floor_h = np.round(floor_h, 1)
    surveyed = rng.random(nbld) < 0.3
    fa = np.round(footprint * floors * rng.uniform(0.95, 1.05, nbld), 2)
    floor_area = [float(v) if s else None for v, s in zip(fa.tolist(), surveyed.tolist(), strict=True)]
    bstart = np.flatnonzero(bfirst)
    bseq = np.arange(nbld) - bstart[np.cumsum(bfirst) - 1] + 1
    pcodes = np.array(parcel_codes, dtype=object)
    buildings = pd.DataFrame({
        "id": np.arange(1, nbld + 1, dtype=np.int64), "code": _fmt(pcodes[bp], bseq, 4, "F"), "parcel_id": bp + 1,
        "floors": floors, "floor_h": floor_h, "floor_area": pd.Series(floor_area, dtype=object),
        "use": [BUILDING_USES[u] for u in use.tolist()], "illegal": shed, "geom": building_geom,
        **_surveyed(np.random.default_rng([seed, 14]), floors, floor_h, footprint, shed),
    })

    # enterprises; the parcel tax and output are sums over their firms -----------------------------
    n_ent_p = rng.choice(4, npc, p=ENTERPRISES_PER_PARCEL_P)
    ne = int(n_ent_p.sum())
    _report(progress, "enterprises", 0, ne)
    raw = mu * np.exp(rng.normal(0.0, TAX_PARCEL_SIGMA, npc)) * (n_ent_p > 0)
    raw_b = np.bincount(pb, raw, nb)
    mu_b = np.bincount(pb, mu, nb)
    factor = np.divide(level * mu_b, raw_b, out=np.zeros(nb), where=raw_b > 0)
    parcel_tax_target = raw * factor[pb]
    ep, eord = _expand(n_ent_p)  # parcel of each enterprise, rank within the parcel
    share = rng.gamma(1.5, 1.0, ne) * np.where(eord == 0, 2.5, 1.0)
    share = share / np.bincount(ep, share, npc)[ep]
    e_tax = np.round(parcel_tax_target[ep] * share)
    rate = np.clip(np.exp(rng.normal(math.log(0.045), 0.35, ne)), 0.015, 0.12)
    revenue = np.round(np.maximum(e_tax, 1.0) / rate)
    e_output = np.round(revenue * rng.uniform(0.92, 1.2, ne))
    energy = np.round(e_output / 1e4 * np.exp(rng.normal(math.log(0.05), 0.6, ne)), 2)
    above = revenue >= ABOVE_SCALE_REVENUE
    score = e_tax / (mu[ep] / n_ent_p[ep]) * np.exp(rng.normal(0.0, 0.25, ne))
    cls: list[str | None] = [None] * ne
    idx_above = np.flatnonzero(above)
    if idx_above.size:
        ranked = idx_above[np.argsort(-score[idx_above], kind="stable")]
        pct = (np.arange(ranked.size) + 0.5) / ranked.size
        band = np.searchsorted(np.array([b for b, _ in CLASS_BANDS]), pct, side="right")
        for i, bnd in zip(ranked.tolist(), band.tolist(), strict=True):
            cls[i] = CLASS_BANDS[bnd][1]
    p_tax = np.bincount(ep, e_tax, npc)
    p_output = np.bincount(ep, e_output, npc)
    invest = np.round(mu * np.exp(rng.normal(math.log(2.5e6), 0.45, npc))
                      * np.sqrt(np.maximum(p_tax / mu, 0.2 * TAX_MU_MEDIAN) / TAX_MU_MEDIAN))
    # names: owner companies of the groups, tenants for the other firms
    is_owner_firm = (eord == 0) & np.isin(ep, group_first)
    is_owner_firm &= ~collective[group[ep]]
    owner_company = ~collective
    n_names = int(owner_company.sum()) + int((~is_owner_firm).sum())
    name_ind = np.concatenate([industry[pb[group_first[owner_company]]], industry[pb[ep[~is_owner_firm]]]])
    names = _company_names(rng, n_names, name_ind)
    group_names = np.empty(ng, dtype=object)
    group_names[owner_company] = names[:int(owner_company.sum())]
    for g in np.flatnonzero(collective).tolist():
        t = ptown[group_first[g]]
        v = pools[t][int(vill_pick[g] * len(pools[t]))]
        group_names[g] = f"慈溪市{tw['name'].iat[t]}{v}股份经济合作社"
    ent_names = np.empty(ne, dtype=object)
    ent_names[is_owner_firm] = group_names[group[ep[is_owner_firm]]]
    ent_names[~is_owner_firm] = names[int(owner_company.sum()):]
    credit = _credit_codes(rng, ne)

    parcels = pd.DataFrame({
        "id": np.arange(1, npc + 1, dtype=np.int64), "code": parcel_codes, "block_id": pb + 1,
        "land_use": _land_uses(np.random.default_rng([seed, 1401]), land_use == "仓储用地"),
        "owner": group_names[group].tolist(),
        "term_end": pd.Series(term_end.astype(object), dtype=object), "supp_m2": supp_m2, "green_m2": green_m2,
        "invest": invest, "output": p_output, "tax": p_tax, "geom": parcel_geom,
    })
    enterprises = pd.DataFrame({
        "id": np.arange(1, ne + 1, dtype=np.int64), "credit_code": credit.tolist(), "name": ent_names.tolist(),
        "parcel_id": ep + 1, "above_scl": above, "revenue": revenue, "tax": e_tax, "output": e_output,
        "energy_tce": energy, "class": pd.Series(cls, dtype=object),
        "class_year": pd.Series([CLASS_YEAR if c else None for c in cls], dtype=object),
        "industry_code": pd.Series(_industry_codes(np.random.default_rng([seed, 1402]), industry[pb[ep]]),
                                   dtype=object),
    })
    _report(progress, "enterprises", ne, ne)

    return SampleData(towns=towns, blocks=blocks, parcels=parcels, buildings=buildings, enterprises=enterprises)


def _main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Time the synthetic Cixi sample generator.")
    ap.add_argument("--scale", type=float, nargs="+", default=[0.02])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--srid", type=int, default=4549)
    args = ap.parse_args()
    for scale in args.scale:
        t0 = time.perf_counter()
        data = generate(scale=scale, seed=args.seed, srid=args.srid)
        print(f"scale {scale}: {time.perf_counter() - t0:.1f} s {data.summary()}")


if __name__ == "__main__":
    _main()
