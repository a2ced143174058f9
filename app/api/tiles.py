"""Vector tiles, TileJSON, and the map's small JSON endpoints (cards, search, filtered totals).

``/tiles/{layer}/{z}/{x}/{y}.mvt`` answers the bytes of ``ST_AsMVT`` (204 when the tile is empty), gzip when
the client accepts it. The same answer is given by ``TileFastPath``, a plain ASGI middleware in front of the
whole stack that serves well-formed tile requests before the other middleware, routing and validation (the
bulk of a tile's cost in Python); anything it does not recognise goes on to the router, which validates and
explains errors in the usual JSON body.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import RowMapping, text
from starlette.datastructures import State

from app.api.deps import ConnectionDep, SettingsDep
from app.auth import tokens
from app.auth.deps import OptionalPrincipal
from app.auth.redact import for_reader
from app.errors import InvalidParameter, NotFound, RenewalError, Unauthorized
from app.http_protocol import Reply
from app.planning.config import get_rules
from app.planning.rule_sql import rule_params
from app.security import SecurityHeaders
from app.settings import Settings
from app.tiles import queries
from app.tiles.layers import MAX_ZOOM, MVT_MEDIA_TYPE, TILE_LAYERS, TileLayer
from app.tiles.service import TileService

log = logging.getLogger("renewal.tiles")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create the tile service (its pool connects on first use) and close it at shutdown."""
    service = TileService(app.state.settings)
    app.state.tiles = service
    yield
    await service.close()


router = APIRouter(tags=["tiles"], lifespan=lifespan)


def tile_layer(name: str, z: int, x: int, y: int) -> TileLayer:
    """The whitelisted layer for a tile address, or the error that says what is wrong with it."""
    layer = TILE_LAYERS.get(name)
    if layer is None:
        raise NotFound(f"no tile layer {name!r}; layers: {', '.join(TILE_LAYERS)}", field="layer")
    if not layer.minzoom <= z <= layer.maxzoom:
        raise NotFound(f"layer {name} has tiles from zoom {layer.minzoom} to {layer.maxzoom}", field="z")
    side = 1 << z
    if not 0 <= x < side:
        raise InvalidParameter(f"x must be between 0 and {side - 1} at zoom {z}", field="x")
    if not 0 <= y < side:
        raise InvalidParameter(f"y must be between 0 and {side - 1} at zoom {z}", field="y")
    return layer


async def tile_reply(service: TileService, layer: TileLayer, z: int, x: int, y: int, accepts_gzip: bool,
                     if_none_match: str | None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of one tile: 200 with MVT bytes, 204 when empty, 304 when unchanged."""
    try:
        if accepts_gzip:
            body, packed = await service.tile_gzip(layer, z, x, y)
        else:
            body, packed = await service.tile(layer, z, x, y), False
    except asyncpg.PostgresError as err:
        incident = uuid.uuid4().hex[:12]
        log.error("tile %s/%d/%d/%d failed, incident %s: %s", layer.name, z, x, y, incident, err)
        raise _Incident(incident) from None
    headers = [(b"cache-control", b"no-cache"), (b"vary", b"accept-encoding")]
    if service.version is not None:  # data version and rule version: a change of either changes the tiles
        etag = f'W/"{service.version}-{service.rules.rule_version}"'.encode()
        headers.append((b"etag", etag))
        if if_none_match is not None and if_none_match.encode() == etag:
            return 304, headers, b""
    if not body:
        return 204, headers, b""
    headers.append((b"content-type", MVT_MEDIA_TYPE.encode()))
    if packed:
        headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(body)).encode()))
    return 200, headers, body


class _Incident(Exception):
    """A database error while building a tile, already logged under an incident id."""

    def __init__(self, incident: str) -> None:
        super().__init__(incident)
        self.incident = incident


def _error_body(status: int, code: str, detail: str, field: str | None = None) -> tuple[int, bytes]:
    """The API's JSON error body, for the ASGI fast path."""
    return status, json.dumps({"code": code, "detail": detail, "field": field}, ensure_ascii=False).encode()


@router.get("/tiles/{layer}/{z}/{x}/{y}.mvt", summary="A vector tile (MVT, EPSG:3857) of a layer",
            responses={200: {"content": {MVT_MEDIA_TYPE: {}}}, 204: {"description": "The tile holds no feature."}})
async def tile(
    request: Request,
    layer: Annotated[str, Path(description="towns, blocks, parcels or buildings.")],
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Zoom level (Web Mercator quadtree).")],
    x: Annotated[int, Path(ge=0, description="Column, 0 at 180°W.")],
    y: Annotated[int, Path(ge=0, description="Row, 0 at the top (85.05°N, XYZ scheme).")],
) -> Response:
    """Features of one tile with the properties the map needs; gzip when the client accepts it."""
    found = tile_layer(layer, z, x, y)
    service: TileService = request.app.state.tiles
    try:
        status, headers, body = await tile_reply(service, found, z, x, y,
                                                 "gzip" in request.headers.get("accept-encoding", ""),
                                                 request.headers.get("if-none-match"))
    except _Incident as inc:
        return JSONResponse({"code": "InternalError", "detail": f"internal error, incident {inc.incident}",
                             "field": None}, status_code=500)
    resp = Response(body, status_code=status)
    for k, v in headers:
        if k != b"content-length":
            resp.headers[k.decode()] = v.decode()
    return resp


class TileFastPath:
    """ASGI middleware, outermost: answers ``GET /tiles/{layer}/{z}/{x}/{y}.mvt`` before the rest of the stack.

    A tile passes through none of the other layers, so this one does for tiles what they would do: the
    security headers (from the same :class:`SecurityHeaders`), the read gate (a token is checked; a request the
    gate would refuse goes the long way, where the gate answers 401), CORS (a cross-origin request, when origins
    are configured, goes the long way) and a JSON 500 with an incident id. Requests that do not parse cleanly or
    do not address an existing tile go on too, so errors are explained by the router like any other.

    :meth:`direct` is the same decision without ASGI: the HTTP protocol of ``renewal serve``
    (:mod:`app.http_protocol`) calls it for each request it parses and writes the answer itself.
    """

    def __init__(self, app: SecurityHeaders, settings: Settings, state: State) -> None:
        self.app = app
        self.settings = settings
        self.state = state  # the application's state, where the lifespan puts the tile service
        self._security: dict[str, list[tuple[bytes, bytes]]] = {}  # scheme → the security headers of a tile

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a tile, or pass the request on."""
        answer = self.direct(scope["method"], scope["path"], scope["headers"], scope.get("scheme", "http")) \
            if scope["type"] == "http" else None
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = await answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    def direct(self, method: str, path: str, headers: Iterable[tuple[bytes, bytes]],
               scheme: str) -> Awaitable[Reply] | None:
        """The answer to a tile request (status, headers, body; the body also for HEAD), or None to go the long way.

        ``headers`` are the request's, names in lower case; ``scheme`` is ``http`` or ``https``.
        """
        if method not in ("GET", "HEAD") or not path.startswith("/tiles/") or not path.endswith(".mvt"):
            return None
        parts = path[7:-4].split("/")
        if len(parts) != 4 or not (parts[1].isdigit() and parts[2].isdigit() and parts[3].isdigit()):
            return None
        name, z, x, y = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
        try:
            layer = tile_layer(name, z, x, y)
        except RenewalError:
            return None
        accepts_gzip = False
        if_none_match = authorization = None
        for key, value in headers:
            if key == b"accept-encoding":
                accepts_gzip = b"gzip" in value
            elif key == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif key == b"authorization":
                authorization = value.decode("latin-1")
            elif key == b"origin" and self.settings.cors_origins:
                return None  # CORS answers it
        if (authorization is not None or self.settings.read_requires_login) and not self._admitted(authorization):
            return None  # the read gate answers it
        return self._answer(layer, z, x, y, accepts_gzip, if_none_match, scheme)

    async def _answer(self, layer: TileLayer, z: int, x: int, y: int, accepts_gzip: bool, if_none_match: str | None,
                      scheme: str) -> Reply:
        """The tile's reply with the security headers; errors as the API's JSON body."""
        service: TileService = self.state.tiles
        try:
            status, headers, body = await tile_reply(service, layer, z, x, y, accepts_gzip, if_none_match)
        except RenewalError as err:
            status, body = _error_body(err.status, err.code, err.detail, err.field)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        except Exception as err:  # noqa: BLE001 (answered as the API answers any unexpected error)
            incident = _incident_of(err, layer, z, x, y)
            status, body = _error_body(500, "InternalError", f"internal error, incident {incident}")
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        security = self._security.get(scheme)
        if security is None:  # the same for every tile (a tile's own headers are none of them)
            security = self._security[scheme] = self.app.with_headers({"path": "/tiles/", "scheme": scheme}, [])
        return status, headers + security, body

    def _admitted(self, authorization: str | None) -> bool:
        """Whether the read gate lets this request read: a valid token, or none when none is required."""
        try:
            token = tokens.bearer_token(authorization)
            principal = tokens.decode(self.settings, token) if token is not None else None
        except Unauthorized:
            return False
        return principal is not None or not self.settings.read_requires_login


def _incident_of(err: Exception, layer: TileLayer, z: int, x: int, y: int) -> str:
    """The incident id of a failed tile (logged here unless :func:`tile_reply` did already)."""
    if isinstance(err, _Incident):
        return err.incident
    incident = uuid.uuid4().hex[:12]
    log.exception("tile %s/%d/%d/%d failed, incident %s", layer.name, z, x, y, incident, exc_info=err)
    return incident


@router.get("/tiles", summary="The tile layers and their TileJSON")
def tile_layers(request: Request) -> dict[str, object]:
    """Every tile layer with its zoom range and TileJSON address."""
    base = str(request.base_url)
    return {"layers": [{"id": t.name, "title_zh": t.title_zh, "title": t.title_en, "minzoom": t.minzoom,
                        "maxzoom": t.maxzoom, "tilejson": f"{base}tiles/{t.name}.json"}
                       for t in TILE_LAYERS.values()]}


_BOUNDS_SQL = text("""
SELECT ARRAY[ST_XMin(bb), ST_YMin(bb), ST_XMax(bb), ST_YMax(bb)]
FROM (SELECT ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, CAST(:srid AS int)), 4326) AS bb FROM towns) e
WHERE bb IS NOT NULL
""")


@router.get("/tiles/{layer}.json", summary="TileJSON 3.0 of a tile layer")
def tilejson(
    request: Request,
    conn: ConnectionDep,
    settings: SettingsDep,
    layer: Annotated[str, Path(description="towns, blocks, parcels or buildings.")],
) -> JSONResponse:
    """TileJSON 3.0.0: the tile URL (absolute, from this request), zoom range, bounds (CRS84) and fields."""
    found = TILE_LAYERS.get(layer)
    if found is None:
        raise NotFound(f"no tile layer {layer!r}; layers: {', '.join(TILE_LAYERS)}", field="layer")
    bounds = conn.execute(_BOUNDS_SQL, {"srid": settings.srid}).scalar()
    bounds = [round(v, 6) for v in bounds] if bounds else [-180.0, -85.051129, 180.0, 85.051129]
    centre_zoom = max(found.minzoom, min(11, found.maxzoom))
    body = {
        "tilejson": "3.0.0",
        "name": found.name,
        "description": f"{found.title_zh} {found.title_en}",
        "version": "1.0.0",
        "attribution": "renewal; 县界 © OpenStreetMap contributors (ODbL)",
        "scheme": "xyz",
        "tiles": [f"{request.base_url}tiles/{found.name}/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": found.minzoom,
        "maxzoom": found.maxzoom,
        "bounds": bounds,
        "center": [round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6), centre_zoom],
        "vector_layers": [{"id": found.name, "description": f"{found.title_zh} {found.title_en}",
                           "minzoom": found.minzoom, "maxzoom": found.maxzoom, "fields": found.fields}],
        "rule_version": get_rules().rule_version if found.name == "parcels" else None,
    }
    return JSONResponse(body)


def _row(row: RowMapping | None, what: str, code: str) -> dict[str, object]:
    """A result row as a dict, or NotFound."""
    if row is None:
        raise NotFound(f"no {what} with code {code!r}", field="code")
    return dict(row)


@router.get("/api/blocks/{code}/card", summary="What the map's block card shows")
def block_card(
    conn: ConnectionDep,
    principal: OptionalPrincipal,
    code: Annotated[str, Path(description="Block code (区块编号), e.g. QK107-001.")],
) -> dict[str, object]:
    """Name, town, status, mode, industry, land area (亩, Σ parcels), FAR, 亩均税收 (万元/亩) and above-scale firms.

    Areas are planar in the storage CRS; FAR = Σ counted floor area ÷ Σ land area of the block's parcels.
    """
    row = conn.execute(queries.BLOCK_CARD, {"code": code, **rule_params()}).mappings().first()
    return for_reader(principal, {**_row(row, "block", code), "rule_version": get_rules().rule_version})


@router.get("/api/parcels/{code}/card", summary="What the map's parcel card shows")
def parcel_card(
    conn: ConnectionDep,
    principal: OptionalPrincipal,
    code: Annotated[str, Path(description="Parcel code (宗地编号).")],
) -> dict[str, object]:
    """Owner, land area (m², 亩), counted floor area, FAR, pass/fail against 2.0 and the shortfall in m²."""
    row = conn.execute(queries.PARCEL_CARD, {"code": code, **rule_params()}).mappings().first()
    return for_reader(principal, {**_row(row, "parcel", code), "rule_version": get_rules().rule_version})


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
    principal: OptionalPrincipal,
    town: Annotated[str | None, Query(description="Town code (区划代码), e.g. 330282107.")] = None,
    status: Annotated[str | None, Query(description="Block status: listed, surveyed, planned, in_progress, "
                                                    "accepted.")] = None,
    mode: Annotated[str | None, Query(description="Renovation mode: demolition, sorting, management, or none "
                                                  "(not decided).")] = None,
    compliance: Annotated[Literal["pass", "fail"] | None,
                          Query(description="Parcels whose FAR passes or fails 2.0.")] = None,
    bbox: Annotated[str | None, Query(description="Only what touches minx,miny,maxx,maxy (CRS84 degrees).")] = None,
) -> dict[str, object]:
    """Blocks, their area (亩), parcels, land area (亩), FAR, parcels failing 2.0 and their share."""
    params: dict[str, object] = {"town": town or None, "status": status or None, "mode": mode or None,
                                 "compliance": compliance, "srid": settings.srid, **_bbox(bbox),
                                 **rule_params()}
    row = conn.execute(queries.TOTALS, params).mappings().one()
    return for_reader(principal, {**dict(row), "rule_version": get_rules().rule_version,
                                  "far_min": get_rules().far_min})


@router.get("/api/map/blocks", summary="Every block with the attributes the map filters on")
def block_index(conn: ConnectionDep) -> dict[str, object]:
    """Code, name, town code, status and mode of every block (to filter parcels by their block)."""
    return {"blocks": [dict(r) for r in conn.execute(queries.BLOCK_INDEX).mappings()]}
