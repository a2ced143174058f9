"""GeoJSON features of the spatial layers (first part of the OGC API – Features items endpoint).

The GeoJSON is built inside PostGIS and sent as bytes; coordinates in CRS84 (lon, lat).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from sqlalchemy import text

from app.api.deps import ConnectionDep, SettingsDep
from app.errors import InvalidParameter, NotFound
from app.io.layers import LAYERS, get_layer

router = APIRouter(prefix="/ogc", tags=["features"])
GEOJSON = "application/geo+json"

# {source} is a layer's export statement from the registry (never user input); values are bound.
_ITEMS_SQL = """
WITH f AS ({source}),
page AS (
    SELECT * FROM f
    WHERE (CAST(:minx AS float8) IS NULL
           OR f.geom && ST_Transform(ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326), :srid))
    LIMIT :limit OFFSET :offset
)
SELECT json_build_object(
    'type', 'FeatureCollection',
    'numberReturned', count(*),
    'features', COALESCE(json_agg(json_build_object(
        'type', 'Feature',
        'id', page.code,
        'geometry', ST_AsGeoJSON(ST_Transform(page.geom, 4326), 7)::json,
        'properties', to_jsonb(page) - 'geom')), '[]'::json))::text
FROM page
"""


def _bbox(raw: str | None) -> tuple[float, float, float, float] | tuple[None, None, None, None]:
    """Parse ``minx,miny,maxx,maxy`` in CRS84."""
    if raw is None:
        return (None, None, None, None)
    try:
        minx, miny, maxx, maxy = (float(v) for v in raw.split(","))
    except ValueError:
        raise InvalidParameter("bbox must be four numbers: minx,miny,maxx,maxy (CRS84)", field="bbox") from None
    if minx > maxx or miny > maxy:
        raise InvalidParameter("bbox: min must not exceed max", field="bbox")
    return (minx, miny, maxx, maxy)


@router.get("/collections/{cid}/items", summary="Features of a layer as GeoJSON (CRS84)")
def items(
    conn: ConnectionDep,
    settings: SettingsDep,
    cid: Annotated[str, Path(description="Layer: towns, blocks, parcels, buildings.")],
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in CRS84 (degrees).")] = None,
    limit: Annotated[int, Query(ge=1, le=10000, description="Features per page.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Features to skip.")] = 0,
) -> Response:
    """A page of features with their interchange attributes."""
    if cid not in LAYERS:
        raise NotFound(f"no collection {cid!r}; collections: {', '.join(LAYERS)}", field="cid")
    layer = get_layer(cid)
    minx, miny, maxx, maxy = _bbox(bbox)
    body = conn.execute(
        text(_ITEMS_SQL.format(source=layer.export_sql)),
        {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy, "srid": settings.srid,
         "limit": limit, "offset": offset},
    ).scalar_one()
    return Response(body, media_type=GEOJSON)
