"""Vector tiles and TileJSON, and the map's small JSON endpoints (cards, search, filtered totals).

``/tiles/{layer}/{z}/{x}/{y}.mvt`` answers the bytes of ``ST_AsMVT`` (204 when the tile is empty), gzip when
the client accepts it, from :class:`app.tiles.service.TileService` on the read pool. TileJSON publishes tile
URLs carrying ``?v=<data version>-<rule version>``: such a tile is the same for as long as the URL is, so it
is cached for a year (``immutable``); a tile asked for without the current version is cached briefly and
revalidated with its ETag (304).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import RowMapping

from app.api.deps import ConnectionDep, OptionalPrincipal, RulesDep, SettingsDep
from app.api.redact import for_reader
from app.errors import InvalidParameter, NotFound
from app.planning.rule_sql import rule_params
from app.tiles import queries
from app.tiles import tilejson as tilejson_doc
from app.tiles.layers import MAX_ZOOM, MVT_MEDIA_TYPE, TILE_LAYERS, TileLayer
from app.tiles.service import TileService

router = APIRouter(tags=["tiles"])

IMMUTABLE_S = 31_536_000
"""max-age of a tile whose URL carries the current version: a year (its URL changes when the data does)."""


def tile_address(request: Request) -> tuple[TileLayer, int, int, int]:
    """The whitelisted layer and z, x, y of a tile URL, or the error that says what is wrong with it."""
    params = request.path_params
    z, x, y = (_whole(params[name], name) for name in ("z", "x", "y"))
    if z > MAX_ZOOM:
        raise InvalidParameter(f"z must be between 0 and {MAX_ZOOM}", field="z")
    name = params["layer"]
    layer = TILE_LAYERS.get(name)
    if layer is None:
        raise NotFound(f"no tile layer {name!r}; layers: {', '.join(TILE_LAYERS)}", field="layer")
    if not layer.minzoom <= z <= layer.maxzoom:
        raise NotFound(f"layer {name} has tiles from zoom {layer.minzoom} to {layer.maxzoom}", field="z")
    side = 1 << z
    if x >= side:
        raise InvalidParameter(f"x must be between 0 and {side - 1} at zoom {z}", field="x")
    if y >= side:
        raise InvalidParameter(f"y must be between 0 and {side - 1} at zoom {z}", field="y")
    return layer, z, x, y


def _whole(raw: str, name: str) -> int:
    """A path segment as a whole number ≥ 0."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise InvalidParameter(f"{name} must be a whole number ≥ 0, not {raw!r}", field=name)
    return int(raw)


_TILE_PARAMETERS = [
    {"name": "layer", "in": "path", "required": True, "schema": {"type": "string", "enum": list(TILE_LAYERS)},
     "description": "towns, blocks, parcels, buildings or joint_developments."},
    {"name": "z", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ZOOM},
     "description": "Zoom level (Web Mercator quadtree)."},
    {"name": "x", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0},
     "description": "Column, 0 at 180°W."},
    {"name": "y", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0},
     "description": "Row, 0 at the top (85.05°N, XYZ scheme)."},
    {"name": "v", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 100},
     "description": "Data and rule version, as in the tile URLs of TileJSON: with the current one the tile may be "
                    "cached for a year."},
]
"""The tile route's parameters for the OpenAPI document: the route reads them itself (:func:`tile_address`),
which costs a tenth of FastAPI's validation of five parameters on the most frequent request of the service."""


async def tile(request: Request) -> Response:
    """Features of one tile with the properties the map needs; gzip when the client accepts it."""
    found, z, x, y = tile_address(request)
    service: TileService = request.app.state.tiles
    await service.check_version()
    headers = {"Vary": "accept-encoding"}
    tag = service.tag
    scope = "private" if request.app.state.settings.read_requires_login else "public"
    if tag is not None and request.query_params.get("v") == tag:
        headers["Cache-Control"] = f"{scope}, max-age={IMMUTABLE_S}, immutable"
    else:
        headers["Cache-Control"] = f"{scope}, max-age={service.settings.max_age_s}"
    if tag is not None:
        etag = headers["ETag"] = f'W/"{tag}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        body, packed = await service.tile_gzip(found, z, x, y)
        if packed:
            headers["Content-Encoding"] = "gzip"
    else:
        body = await service.tile(found, z, x, y)
    if not body:
        return Response(status_code=204, headers=headers)
    return Response(body, media_type=MVT_MEDIA_TYPE, headers=headers)


TILE_PATH = "/tiles/{layer}/{z}/{x}/{y}.mvt"


def add_tile_route(app: FastAPI) -> None:
    """Register the tile route (GET, and HEAD outside the OpenAPI document) on the application itself.

    Not through :data:`router`: FastAPI matches the routes of an included router in two steps (the router,
    then its route, once to choose and once to handle), which cost a quarter of a cached tile's time in the
    service; a route of the application is matched once. Register it first, before the routers.
    """
    app.add_api_route(TILE_PATH, tile, methods=["GET"], tags=["tiles"], response_class=Response,
                      summary="A vector tile (MVT, EPSG:3857) of a layer",
                      openapi_extra={"parameters": _TILE_PARAMETERS},
                      responses={200: {"content": {MVT_MEDIA_TYPE: {}}},
                                 204: {"description": "The tile holds no feature."},
                                 304: {"description": "Unchanged since the ETag in If-None-Match."}})
    app.add_api_route(TILE_PATH, tile, methods=["HEAD"], include_in_schema=False)


@router.get("/tiles", summary="The tile layers and their TileJSON")
def tile_layers(request: Request) -> dict[str, object]:
    """Every tile layer with its zoom range and TileJSON address."""
    base = str(request.base_url)
    return {"layers": [{"id": t.name, "title_zh": t.title_zh, "title": t.title_en, "minzoom": t.minzoom,
                        "maxzoom": t.maxzoom, "tilejson": f"{base}tiles/{t.name}.json"}
                       for t in TILE_LAYERS.values()]}


@router.get("/tiles/{layer}.json", summary="TileJSON 3.0 of a tile layer")
async def tilejson(
    request: Request,
    rules: RulesDep,
    layer: Annotated[str, Path(description="towns, blocks, parcels or buildings.")],
) -> dict[str, object]:
    """TileJSON 3.0.0: the versioned tile URL (absolute, from this request), zoom range, bounds (CRS84), fields."""
    found = TILE_LAYERS.get(layer)
    if found is None:
        raise NotFound(f"no tile layer {layer!r}; layers: {', '.join(TILE_LAYERS)}", field="layer")
    service: TileService = request.app.state.tiles
    await service.check_version()
    bounds = await tilejson_doc.bounds(service.pool, service.srid)
    return tilejson_doc.document(found, str(request.base_url), bounds, service.tag, rules)


def _row(row: RowMapping | None, what: str, code: str) -> dict[str, object]:
    """A result row as a dict, or NotFound."""
    if row is None:
        raise NotFound(f"no {what} with code {code!r}", field="code")
    return dict(row)


@router.get("/api/blocks/{code}/card", summary="What the map's block card shows")
def block_card(
    conn: ConnectionDep,
    rules: RulesDep,
    principal: OptionalPrincipal,
    code: Annotated[str, Path(description="Block code (区块编号), e.g. QK107-001.")],
) -> dict[str, object]:
    """Name, town, status, mode, industry, land area (亩, Σ parcels), FAR, 亩均税收 (万元/亩) and above-scale firms.

    Areas are planar in the storage CRS; FAR = Σ counted floor area ÷ Σ land area of the block's parcels.
    """
    row = conn.execute(queries.BLOCK_CARD, {"code": code, **rule_params(rules)}).mappings().first()
    return for_reader(principal, {**_row(row, "block", code), "rule_version": rules.rule_version})


@router.get("/api/parcels/{code}/card", summary="What the map's parcel card shows")
def parcel_card(
    conn: ConnectionDep,
    rules: RulesDep,
    principal: OptionalPrincipal,
    code: Annotated[str, Path(description="Parcel code (宗地编号).")],
) -> dict[str, object]:
    """Owner, land area (m², 亩), counted floor area, FAR, pass/fail against its floor and the shortfall in m²."""
    row = conn.execute(queries.PARCEL_CARD, {"code": code, **rule_params(rules)}).mappings().first()
    return for_reader(principal, {**_row(row, "parcel", code), "rule_version": rules.rule_version})


@router.get("/api/search", summary="Find blocks and parcels by code or name")
def search(
    conn: ConnectionDep,
    q: Annotated[str, Query(min_length=1, max_length=100,
                            description="Text in a block's code or name, or a parcel's code or owner.")],
    limit: Annotated[int, Query(ge=1, le=20, description="Results at most.")] = 20,
) -> dict[str, object]:
    """Up to 20 matches, exact and prefix matches first, each with its CRS84 bounding box."""
    q = q.strip()
    if not q:
        raise InvalidParameter("q must not be blank", field="q")
    pattern, prefix = queries.like_pattern(q)
    rows = conn.execute(queries.SEARCH, {"q": q, "pattern": pattern, "prefix": prefix, "limit": limit})
    return {"q": q, "results": [dict(r) for r in rows.mappings()]}


def _bbox(raw: str | None) -> dict[str, float | None]:
    """``minx,miny,maxx,maxy`` in CRS84 as bound parameters (all None without a bbox)."""
    if raw is None:
        return {"minx": None, "miny": None, "maxx": None, "maxy": None}
    try:
        minx, miny, maxx, maxy = (float(v) for v in raw.split(","))
    except ValueError:
        raise InvalidParameter("bbox must be four numbers: minx,miny,maxx,maxy (CRS84)", field="bbox") from None
    if minx > maxx or miny > maxy:
        raise InvalidParameter("bbox: min must not exceed max", field="bbox")
    return {"minx": minx, "miny": miny, "maxx": maxx, "maxy": maxy}


@router.get("/api/map/totals", summary="Totals of the blocks and parcels the map's filters select")
def totals(
    conn: ConnectionDep,
    settings: SettingsDep,
    rules: RulesDep,
    principal: OptionalPrincipal,
    town: Annotated[str | None, Query(description="Town code (区划代码), e.g. 330282107.")] = None,
    status: Annotated[str | None, Query(description="Block status: listed, surveyed, planned, in_progress, "
                                                    "accepted.")] = None,
    mode: Annotated[str | None, Query(description="Renovation mode: demolition, sorting, management, or none "
                                                  "(not decided).")] = None,
    compliance: Annotated[Literal["pass", "fail"] | None,
                          Query(description="Parcels whose FAR passes or fails its floor (容积率下限).")] = None,
    bbox: Annotated[str | None, Query(description="Only what touches minx,miny,maxx,maxy (CRS84 degrees).")] = None,
) -> dict[str, object]:
    """Blocks, their area (亩), parcels, land area (亩), FAR, parcels failing their floor and their share."""
    params: dict[str, object] = {"town": town or None, "status": status or None, "mode": mode or None,
                                 "compliance": compliance, "srid": settings.srid, **_bbox(bbox),
                                 **rule_params(rules)}
    row = conn.execute(queries.TOTALS, params).mappings().one()
    return for_reader(principal, {**dict(row), "rule_version": rules.rule_version, "far_min": rules.far_min})


@router.get("/api/map/blocks", summary="Every block with the attributes the map filters on")
def block_index(conn: ConnectionDep) -> dict[str, object]:
    """Code, name, town code, status and mode of every block (to filter parcels by their block)."""
    return {"blocks": [dict(r) for r in conn.execute(queries.BLOCK_INDEX).mappings()]}
