"""Hand-worked floor area as surveyed (issue 14): storeys of different heights, garage storeys above the second
floor and basements, in EPSG:4549 (boxes with whole-metre corners, so every area is exact).

Town 330282113 胜山镇, block QK113-010, four parcels of 100 × 100 = 10,000 m² (defaults: a storey counts ×2 when
higher than 8 m, 国土资发〔2008〕24号; garage storeys above the second floor ×0.5, basement garages and plant rooms
×0, commercial basements ×0.6, 甬规字〔2010〕122号):

- S1: one building, footprint 25 × 40 = 1,000 m², storeys 9 / 4.5 / 4.5 / 4.5 m (no floor_h: the highest is kept)
  → floor area 4,000 m², counted 2 × 1,000 + 3 × 1,000 = 5,000 m²; 容积率 0.50.
- S2: 1,000 m² × 5 storeys of 4.5 m, storeys 3 and 4 garages, a commercial basement of 1,200 m² → floor area
  5,000, counted 1,000 × (1 + 1 + 0.5 + 0.5 + 1) + 1,200 × 0.6 = 4,720; and 500 m² × 2 storeys of 4 m over two
  basement garage storeys (no area: 2 × 500 m², × 0) → 1,000 and 1,000. Parcel: floor 6,000, counted 5,720; 0.572.
- S3: 2,000 m² × storeys 9 / 4.5 / 4.5 / 4.5 / 10 m, storeys 3 and 4 garages, a plant-room basement → floor
  10,000, counted 2,000 × (2 + 1 + 0.5 + 0.5 + 2) = 12,000; and a surveyed 3,000 m² over storeys 12 / 4 / 4 m
  (1,000 m² a storey) → counted 2,000 + 1,000 + 1,000 = 4,000. Parcel: floor 13,000, counted 16,000; 1.60.
- S4: 1,000 m² × 2 storeys of 9 m (floor_h only: as before storey heights) → 2,000, counted 4,000; and 500 m² ×
  storeys 8 / 8.01 m (8.0 m counts once, 8.01 twice) → 1,000, counted 500 + 1,000 = 1,500. Parcel: floor 3,000,
  counted 5,500; 0.55.
"""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Polygon, box

from tests.planning import cases

TOWN = cases.TOWN
BLOCK = "QK113-010"
X0, Y0 = cases.X0, cases.Y0
S = {name: f"330282113010GB{i:05d}" for i, name in enumerate(("S1", "S2", "S3", "S4"), start=1)}

FIGURES = {  # parcel: (floor area, counted floor area, 容积率, buildings doubled for height)
    "S1": (4_000.0, 5_000.0, 0.5, 1),
    "S2": (6_000.0, 5_720.0, 0.572, 0),
    "S3": (13_000.0, 16_000.0, 1.6, 2),
    "S4": (3_000.0, 5_500.0, 0.55, 2),
}
BUILDING_COUNTED = {"S1F0001": 5_000.0, "S2F0001": 4_720.0, "S2F0002": 1_000.0, "S3F0001": 12_000.0,
                    "S3F0002": 4_000.0, "S4F0001": 4_000.0, "S4F0002": 1_500.0}


def b(parcel: int, x1: float, y1: float, x2: float, y2: float) -> Polygon:
    """A box in metres inside parcel ``parcel`` (0-based, 150 m apart)."""
    ox = X0 + parcel * 150
    return box(ox + x1, Y0 + y1, ox + x2, Y0 + y2)


def code(name: str) -> str:
    """The building code of ``S1F0001`` and the like."""
    return S[name[:2]] + name[2:]


def layers() -> dict[str, gpd.GeoDataFrame]:
    """The town, block, parcels and buildings as a file would carry them (the new fields of issue 14 included)."""
    town = gpd.GeoDataFrame({"code": [TOWN], "name": ["胜山镇"]}, geometry=[box(X0 - 100, Y0 - 100, X0 + 800,
                                                                                     Y0 + 300)], crs=4549)
    block = gpd.GeoDataFrame({"code": [BLOCK], "name": ["层高区块"], "town_code": [TOWN], "status": ["planned"]},
                             geometry=[box(X0, Y0, X0 + 600, Y0 + 150)], crs=4549)
    parcels = gpd.GeoDataFrame({"code": list(S.values()), "block_code": [BLOCK] * 4, "tax": [500_000.0] * 4},
                               geometry=[b(i, 0, 0, 100, 100) for i in range(4)], crs=4549)
    rows = [  # code, floors, floor_h, floor_area, storey_hs, garage_n, bsmt_n, bsmt_use, bsmt_m2, geometry
        ("S1F0001", 4, None, None, "9,4.5,4.5,4.5", None, None, None, None, b(0, 10, 10, 35, 50)),
        ("S2F0001", 5, 4.5, None, None, 2, 1, "commercial", 1200.0, b(1, 10, 10, 35, 50)),
        ("S2F0002", 2, 4.0, None, None, None, 2, "garage", None, b(1, 50, 10, 70, 35)),
        ("S3F0001", 5, None, None, "9, 4.5, 4.5, 4.5, 10", 2, 1, "plant", None, b(2, 10, 10, 50, 60)),
        ("S3F0002", 3, None, 3000.0, "12,4,4", None, None, None, None, b(2, 60, 10, 80, 60)),
        ("S4F0001", 2, 9.0, None, None, None, None, None, None, b(3, 10, 10, 35, 50)),
        ("S4F0002", 2, 8.0, None, "8,8.01", None, 0, None, None, b(3, 50, 10, 70, 35)),
    ]
    names = ("code", "floors", "floor_h", "floor_area", "storey_hs", "garage_n", "bsmt_n", "bsmt_use", "bsmt_m2")
    columns = {n: [code(r[0]) if n == "code" else r[i] for r in rows] for i, n in enumerate(names)}
    columns["parcel_code"] = [S[r[0][:2]] for r in rows]
    columns["use"] = ["production"] * len(rows)
    buildings = gpd.GeoDataFrame(columns, geometry=[r[-1] for r in rows], crs=4549)
    buildings["floors"] = buildings["floors"].astype("int32")
    for name in ("garage_n", "bsmt_n"):  # whole numbers with gaps, as a GIS would write them
        buildings[name] = buildings[name].astype("Int32")
    return {"towns": town, "blocks": block, "parcels": parcels, "buildings": buildings}
