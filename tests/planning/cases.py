"""Hand-built planning cases in EPSG:4549 (boxes with whole-metre corners, so every area is exact).

Town 330282107 观海卫镇 without blocks, and town 330282113 胜山镇 with four blocks:
- QK113-001 (accepted; fire hazard, low industry): five parcels
  - A1  100 × 100 = 10 000 m²: three buildings, one with storeys of exactly 8.0 m, one of 12 m; FAR exactly 2.0
  - A2  100 × 100 with a 50 × 50 hole = 7 500 m²: production + office, no supp_m2 (apportioned)
  - A3  multipolygon 60 × 100 + 20 × 100 = 8 000 m²: a dormitory (surveyed floor area) and a 9 m hall
  - A4a 100 × 100: a building crossing into A4b (1 200 of its 1 600 m² inside A4a, no parcel_code) and an
    illegal shed
  - A4b 100 × 100: no buildings at all
- QK113-002 (in progress): B1, with a block exemption lowering the FAR floor to 1.5
- QK113-003 (planned; poor environment): C1, with a block exemption lifting the FAR rule, no tax figures
- QK113-004 (listed): no parcels
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from sqlalchemy import Engine, text

from app.io import importer
from app.io.safety import IOLimits
from app.planning.figures import BuildingInput, ParcelInput
from tests import handmade

X0, Y0 = 630000.0, 3345000.0
TOWN = "330282113"
EMPTY_TOWN = "330282107"  # a town without blocks
BA, BB, BC, BD = "QK113-001", "QK113-002", "QK113-003", "QK113-004"
P = {
    "A1": "330282113001GB00001", "A2": "330282113001GB00002", "A3": "330282113001GB00003",
    "A4a": "330282113001GB00004", "A4b": "330282113001GB00005",
    "B1": "330282113002GB00001", "C1": "330282113003GB00001",
}
CROSSING = P["A4a"] + "F0001"
ILLEGAL = P["A4a"] + "F0002"
EXEMPTION_B = "慈溪2023年低效用地新政: 容积率一般不低于1.5"
EXEMPTION_C = "保留历史厂房 (heritage hall kept)"


def b(x1: float, y1: float, x2: float, y2: float) -> Polygon:
    """A box in metres relative to (X0, Y0)."""
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def layers() -> dict[str, gpd.GeoDataFrame]:
    """The town, blocks, parcels and buildings of the cases, as files would carry them."""
    town = gpd.GeoDataFrame({"code": [TOWN, EMPTY_TOWN], "name": ["胜山镇", "观海卫镇"]},
                            geometry=[b(-100, -100, 800, 500), b(900, -100, 1500, 500)], crs=4549)
    blocks = gpd.GeoDataFrame(
        {"code": [BA, BB, BC, BD], "name": ["胜山工业区块", "西二区块", "东二区块", "空区块"],
         "town_code": [TOWN] * 4, "status": ["accepted", "in_progress", "planned", "listed"],
         "fire_haz": [True, False, False, False], "illeg_bldg": [False, False, False, False],
         "low_ind": [True, False, False, False], "poor_env": [False, False, True, False]},
        geometry=[b(0, 0, 700, 150), b(0, 200, 200, 350), b(300, 200, 500, 350), b(600, 200, 700, 350)], crs=4549)
    holed = Polygon(b(150, 0, 250, 100).exterior.coords, [b(175, 25, 225, 75).exterior.coords])
    parcels = gpd.GeoDataFrame(
        {"code": list(P.values()), "block_code": [BA] * 5 + [BB, BC],
         "supp_m2": [500.0, None, 1000.0, 0.0, None, 0.0, None],
         "green_m2": [1000.0, None, 2000.0, 500.0, 2500.0, 1000.0, None],
         "tax": [600_000.0, 300_000.0, None, 900_000.0, 0.0, 1_200_000.0, None],
         "output": [30_000_000.0, None, 5_000_000.0, None, None, None, None],
         "invest": [20_000_000.0, None, 8_000_000.0, None, None, None, None]},
        geometry=[b(0, 0, 100, 100), holed, MultiPolygon([b(300, 0, 360, 100), b(380, 0, 400, 100)]),
                  b(450, 0, 550, 100), b(550, 0, 650, 100), b(0, 200, 100, 300), b(300, 200, 400, 300)],
        crs=4549)
    rows = [  # code, parcel_code, floors, floor_h, floor_area, use, illegal, geometry
        (P["A1"] + "F0001", P["A1"], 5, 4.0, None, "production", False, b(0, 0, 50, 40)),
        (P["A1"] + "F0002", P["A1"], 2, 8.0, None, "warehouse", False, b(50, 0, 100, 50)),
        (P["A1"] + "F0003", P["A1"], 1, 12.0, None, "production", False, b(0, 50, 50, 100)),
        (P["A2"] + "F0001", P["A2"], 3, 4.0, None, "production", False, b(155, 2, 195, 22)),
        (P["A2"] + "F0002", P["A2"], 2, 3.5, None, "office", False, b(205, 80, 225, 95)),
        (P["A3"] + "F0001", P["A3"], 4, 3.0, 6000.0, "dormitory", False, b(310, 10, 350, 50)),
        (P["A3"] + "F0002", P["A3"], 1, 9.0, None, "production", False, b(382, 10, 398, 90)),
        (CROSSING, None, 2, 4.0, None, "production", False, b(520, 10, 560, 50)),
        (ILLEGAL, P["A4a"], 1, 9.0, None, "other", True, b(460, 60, 480, 80)),
        (P["B1"] + "F0001", P["B1"], 1, 6.0, None, "production", False, b(0, 200, 100, 250)),
        (P["C1"] + "F0001", P["C1"], 1, 5.0, None, "production", False, b(300, 200, 340, 240)),
    ]
    names = ("code", "parcel_code", "floors", "floor_h", "floor_area", "use", "illegal")
    buildings = gpd.GeoDataFrame({n: [r[i] for r in rows] for i, n in enumerate(names)},
                                 geometry=[r[-1] for r in rows], crs=4549)
    return {"towns": town, "blocks": blocks, "parcels": parcels, "buildings": buildings}


def load(engine: Engine, tmp_path: Path, data: dict[str, gpd.GeoDataFrame] | None = None,
         exemptions: bool = True) -> None:
    """Import the layers through the importer (buildings tied by code, else by largest footprint share)."""
    data = data or layers()
    limits = IOLimits()
    for name in ("towns", "blocks", "parcels", "buildings"):
        importer.import_file(engine, handmade.write(data[name], tmp_path / f"{name}.gpkg"), name, limits=limits)
    if exemptions:
        add_exemption(engine, BB, 1.5, EXEMPTION_B)
        add_exemption(engine, BC, None, EXEMPTION_C)


def add_exemption(engine: Engine, block: str, min_far: float | None, reason: str) -> None:
    """A FAR exemption for ``block`` (``min_far`` None lifts the rule)."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO far_exemptions (block_id, min_far, reason) "
                          "SELECT id, :m, :r FROM blocks WHERE code = :b"), {"m": min_far, "r": reason, "b": block})


def _none(value: object) -> float | None:
    """A float, or None for a missing value (None, NaN or pandas' NA)."""
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _heights(value: object) -> tuple[float, ...] | None:
    """Storey heights of a ``storey_hs`` value as stored (numeric with 2 decimals), or None."""
    if value is None or not isinstance(value, str) or not value.strip():
        return None
    return tuple(round(float(v), 2) for v in value.replace("，", ",").split(","))


def building_input(row: Any) -> BuildingInput:
    """The Python twin's building from a row of a buildings layer (the fields of issue 14 when it has them)."""
    heights = _heights(getattr(row, "storey_hs", None))
    floor_h = _none(row.floor_h)
    basements = int(_none(getattr(row, "bsmt_n", None)) or 0)
    return BuildingInput(
        code=row.code, footprint_m2=row.geometry.area, floors=int(row.floors),
        floor_h_m=floor_h if floor_h is not None else max(heights or (0.0,)), floor_area_m2=_none(row.floor_area),
        use=row.use, illegal=bool(getattr(row, "illegal", False) or False), storey_heights_m=heights,
        garage_storeys=int(_none(getattr(row, "garage_n", None)) or 0), basement_storeys=basements,
        basement_use=getattr(row, "bsmt_use", None) if basements else None,
        basement_floor_area_m2=_none(getattr(row, "bsmt_m2", None)))


def twin_inputs(data: dict[str, gpd.GeoDataFrame]) -> dict[str, ParcelInput]:
    """The Python twin's inputs, by parcel code, from the same layers (areas by shapely, in EPSG:4549).

    A building without parcel_code goes to the parcel holding the largest part of it, as the importer does.
    """
    parcels = data["parcels"].reset_index(drop=True)
    owned: dict[str, list[BuildingInput]] = {code: [] for code in parcels["code"]}
    for row in data["buildings"].itertuples(index=False):
        code = row.parcel_code
        if code is None or code != code:
            shares = shapely.area(shapely.intersection(parcels.geometry.values, row.geometry))
            code = parcels["code"][int(shares.argmax())]
        owned[code].append(building_input(row))
    return {
        p.code: ParcelInput(land_area_m2=p.geometry.area, buildings=owned[p.code],
                            supp_m2=_none(getattr(p, "supp_m2", None)), green_m2=_none(getattr(p, "green_m2", None)),
                            tax_yuan=_none(getattr(p, "tax", None)), output_yuan=_none(getattr(p, "output", None)),
                            invest_yuan=_none(getattr(p, "invest", None)))
        for p in parcels.itertuples(index=False)
    }
