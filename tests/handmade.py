"""Small hand-made layers in EPSG:4549 with Chinese text, written to files for import tests."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
from shapely.geometry import MultiPolygon, Polygon, box

X0, Y0 = 620000.0, 3342900.0  # near (121.25°E, 30.2°N), docs/rules.md §2.3


def layers() -> dict[str, gpd.GeoDataFrame]:
    """A town, a block, three parcels (one with a hole, one multipart) and four buildings."""
    town = gpd.GeoDataFrame(
        {"code": ["330282107"], "name": ["观海卫镇"]},
        geometry=[box(X0 - 1000, Y0 - 1000, X0 + 2000, Y0 + 2000)], crs=4549)
    block = gpd.GeoDataFrame(
        {"code": ["QK107-001"], "name": ["双湖村工业区块"], "town_code": ["330282107"], "status": ["planned"],
         "mode": ["sorting"], "industry": ["智能家电"], "plan_year": [2024], "fire_haz": [True],
         "illeg_bldg": [False], "low_ind": [True], "poor_env": [False]},
        geometry=[box(X0, Y0, X0 + 300, Y0 + 200)], crs=4549)
    holed = Polygon(box(X0, Y0, X0 + 100, Y0 + 100).exterior.coords,
                    [box(X0 + 40, Y0 + 40, X0 + 60, Y0 + 60).exterior.coords])
    parcels = gpd.GeoDataFrame(
        {"code": ["330282107001GB00001", "330282107001GB00002", "330282107001GB00003"],
         "block_code": ["QK107-001", None, "QK107-001"],
         "land_use": ["工业用地", "工业用地", "仓储用地"],
         "owner": ["慈溪市甬兴电器有限公司", "宁波市“新华”五金厂（普通合伙）", "慈溪市长河轴承有限公司"],
         "term_end": ["2045-06-30", "2050-12-31", "2060-01-01"],
         "supp_m2": [1200.5, 0.0, 300.25], "green_m2": [500.0, 800.0, None],
         "invest": [12_000_000.0, 3_500_000.0, 8_000_000.0], "output": [50_000_000.0, 9_000_000.0, 21_000_000.0],
         "tax": [1_500_000.0, 120_000.0, 640_000.0]},
        geometry=[holed, box(X0 + 100, Y0, X0 + 200, Y0 + 200),
                  MultiPolygon([box(X0 + 200, Y0, X0 + 300, Y0 + 100), box(X0 + 200, Y0 + 110, X0 + 300, Y0 + 200)])],
        crs=4549)
    buildings = gpd.GeoDataFrame(
        {"code": ["330282107001GB00001F0001", "330282107001GB00002F0001", "330282107001GB00002F0002",
                  "330282107001GB00003F0001"],
         "parcel_code": ["330282107001GB00001", "330282107001GB00002", None, "330282107001GB00003"],
         "floors": [3, 1, 2, 4], "floor_h": [4.5, 8.0, 9.5, 3.6], "floor_area": [None, 1500.0, None, 2400.75],
         "use": ["production", "warehouse", "office", "dormitory"], "illegal": [False, False, True, False]},
        geometry=[box(X0 + 5, Y0 + 5, X0 + 35, Y0 + 35), box(X0 + 110, Y0 + 10, X0 + 160, Y0 + 40),
                  box(X0 + 110, Y0 + 120, X0 + 130, Y0 + 140), box(X0 + 210, Y0 + 10, X0 + 260, Y0 + 60)],
        crs=4549)
    return {"towns": town, "blocks": block, "parcels": parcels, "buildings": buildings}


def write(gdf: gpd.GeoDataFrame, path: Path, driver: str = "GPKG") -> Path:
    """Write a layer to ``path`` with pyogrio."""
    pyogrio.write_dataframe(gdf, path, driver=driver)
    return path
