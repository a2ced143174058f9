"""Export a layer with its interchange attributes to GeoPackage or GeoJSON (pyogrio)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy import Engine, text

from app.errors import InvalidParameter
from app.io.layers import get_layer
from app.settings import get_settings

FORMATS = {"gpkg": "GPKG", "geojson": "GeoJSON"}


def read_layer(engine: Engine, layer_name: str) -> gpd.GeoDataFrame:
    """The whole layer as a GeoDataFrame in the storage CRS, interchange fields only."""
    layer = get_layer(layer_name)
    with engine.connect() as conn:
        gdf = gpd.read_postgis(text(layer.export_sql), conn, geom_col="geom", crs=get_settings().srid)
    return gdf


def export_layer(engine: Engine, layer_name: str, out: Path, *, fmt: str = "gpkg", crs: str | None = None) -> int:
    """Write ``layer_name`` to ``out`` in ``fmt`` (gpkg|geojson), reprojected to ``crs`` if given."""
    driver = FORMATS.get(fmt)
    if driver is None:
        raise InvalidParameter(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}", field="format")
    gdf = read_layer(engine, layer_name)
    if crs:
        try:
            gdf = gdf.to_crs(CRS.from_user_input(crs))
        except CRSError as err:
            raise InvalidParameter(f"unknown CRS {crs!r}: {err}", field="crs") from err
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.stem}.part{out.suffix}")
    tmp.unlink(missing_ok=True)
    options = {"layer": layer_name} if driver == "GPKG" else {}
    pyogrio.write_dataframe(gdf, tmp, driver=driver, **options)
    tmp.replace(out)
    return len(gdf)
