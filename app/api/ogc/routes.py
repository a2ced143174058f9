"""OGC API – Features at ``/ogc``: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2 (CRS by reference),
Part 3 (queryables, CQL2-text filters). Parcels carry their planning figures (:func:`app.io.figures.item_layer`);
errors come as HTML pages when HTML is asked for (:mod:`app.api.errors`).

Collections are the spatial layers of the registry (``app.io.layers``) whose table exists. Feature ids are
the layers' codes. Coordinates are CRS84 unless ``crs=`` asks for another offered CRS; EPSG:4326 and
EPSG:4490 answer in latitude, longitude order as Part 2 requires, and ``Content-Crs`` says which.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from app.api.deps import OptionalPrincipal, RulesDep, SettingsDep
from app.api.ogc import html
from app.api.redact import visible_layer
from app.errors import InvalidParameter, NotFound
from app.io import crs as crsmod
from app.io.formats import GEOJSON, HTML, JSON, JSON_SCHEMA, OPENAPI_30
from app.io.layers import Layer
from app.ogc import collections as coll
from app.ogc import query as q
from app.ogc.collections import FeatureLayers

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])


def _layers(request: Request) -> FeatureLayers:
    """The collections of the application's database."""
    layers: FeatureLayers = request.app.state.layers
    return layers

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-records-1/1.0/conf/sorting",
]
REL_CONFORMANCE = "http://www.opengis.net/def/rel/ogc/1.0/conformance"
REL_DATA = "http://www.opengis.net/def/rel/ogc/1.0/data"
REL_QUERYABLES = "http://www.opengis.net/def/rel/ogc/1.0/queryables"

# Query parameters of the items endpoint besides the property filters (queryables).
_ITEMS_PARAMS = frozenset({"f", "bbox", "bbox-crs", "limit", "offset", "crs", "datetime", "sortby", "properties",
                           "filter", "filter-lang", "filter-crs"})

Fmt = Annotated[str | None, Query(description="Response format: json (default) or html.", pattern="^(json|html)$")]
CollectionId = Annotated[str, Path(description="Collection: towns, blocks, parcels, buildings (and others as added).")]


def _answers(*media_types: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a route answering 200 in these media types (JSON, or HTML with ``f=html``)."""
    return {200: {"description": "OK", "content": {m: {} for m in media_types}}}


def _base(request: Request) -> str:
    """The absolute URL of ``/ogc`` as the client sees it."""
    return str(request.base_url).rstrip("/") + "/ogc"


def _wants_html(request: Request, f: str | None) -> bool:
    """HTML when asked with ``f=html``, or when a browser prefers it and no ``f`` is given."""
    return html.wants_html(f, request.headers.get("accept", ""))


def _json(body: Any, media_type: str = JSON, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with Chinese left readable."""
    return Response(json.dumps(body, ensure_ascii=False).encode(), media_type=media_type, headers=headers)


def _html(title: str, body: str, links: list[dict[str, Any]] | None = None) -> Response:
    """An HTML response."""
    return Response(html.page(title, body, links).encode(), media_type=HTML)


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, Any]:
    """One link object."""
    link: dict[str, Any] = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


@router.get("", summary="Landing page", responses=_answers(JSON, HTML))
@router.get("/", include_in_schema=False)
def landing(request: Request, f: Fmt = None) -> Response:
    """The landing page: links to the API definition, conformance and collections."""
    base = _base(request)
    links = [
        _link(f"{base}?f=json", "self" if not _wants_html(request, f) else "alternate", JSON, "本页 (JSON)"),
        _link(f"{base}?f=html", "alternate" if not _wants_html(request, f) else "self", "text/html", "本页 (HTML)"),
        _link(f"{base}/api", "service-desc", OPENAPI_30, "API 定义 (OpenAPI 3.0)"),
        _link(str(request.base_url).rstrip("/") + "/docs", "service-doc", "text/html", "API 文档"),
        _link(f"{base}/conformance", "conformance", JSON, "符合性声明"),
        _link(f"{base}/conformance", REL_CONFORMANCE, JSON, "Conformance"),
        _link(f"{base}/collections", "data", JSON, "图层集合"),
        _link(f"{base}/collections", REL_DATA, JSON, "Collections"),
    ]
    title = "慈溪市老旧工业区块改造提升 · OGC API – Features"
    description = ("Towns, old industrial blocks, parcels and buildings of Cixi's renovation programme. "
                   "Storage CRS EPSG:4549 (CGCS2000 3° GK CM 120°E); areas are planar in it.")
    if _wants_html(request, f):
        return _html(title, f"<p>{html.escape(description)}</p>" + html.links_list(links), links)
    return _json({"title": title, "description": description, "links": links})


@router.get("/conformance", summary="Conformance classes", responses=_answers(JSON, HTML))
def conformance(request: Request, f: Fmt = None) -> Response:
    """The conformance classes this API implements."""
    if _wants_html(request, f):
        return _html("Conformance", html.links_list([_link(c, "conformance", "text/html") for c in CONFORMANCE]))
    return _json({"conformsTo": CONFORMANCE})


_openapi_cache: dict[str, Any] = {}


def _nullable_30(node: Any) -> Any:
    """Rewrite OpenAPI 3.1 ``anyOf: [X, {type: null}]`` into 3.0's ``X`` with ``nullable: true``."""
    if isinstance(node, dict):
        any_of = node.get("anyOf")
        if isinstance(any_of, list) and {"type": "null"} in any_of:
            rest = [s for s in any_of if s != {"type": "null"}]
            out = {k: _nullable_30(v) for k, v in node.items() if k != "anyOf"}
            if len(rest) == 1:
                out.update(_nullable_30(rest[0]))
            else:
                out["anyOf"] = [_nullable_30(s) for s in rest]
            out["nullable"] = True
            return out
        return {k: _nullable_30(v) for k, v in node.items() if k not in ("examples", "const")}
    if isinstance(node, list):
        return [_nullable_30(v) for v in node]
    return node


@router.get("/api", summary="API definition (OpenAPI 3.0) of the OGC API", responses=_answers(OPENAPI_30))
def api_definition(request: Request) -> Response:
    """The OpenAPI 3.0 document of the ``/ogc`` routes."""
    if "doc" not in _openapi_cache:
        doc = get_openapi(title="renewal OGC API – Features", version="1.0.0", openapi_version="3.0.3",
                          routes=router.routes,
                          description="OGC API – Features Parts 1, 2 and 3 over the renewal layers.")
        _openapi_cache["doc"] = _nullable_30(doc)
    doc = dict(_openapi_cache["doc"])
    doc["servers"] = [{"url": str(request.base_url).rstrip("/")}]
    return _json(doc, OPENAPI_30)


def _collection_doc(request: Request, layer: Layer, extent: dict[str, Any], storage_srid: int) -> dict[str, Any]:
    """The metadata of one collection."""
    base = f"{_base(request)}/collections/{layer.name}"
    return {
        "id": layer.name,
        "title": f"{layer.label_zh} {layer.name}",
        "description": layer.title_en,
        "itemType": "feature",
        "extent": extent,
        "crs": [c.uri for c in crsmod.offered(storage_srid)],
        "storageCrs": crsmod.EPSG_URI.format(code=storage_srid),
        "links": [
            _link(base, "self", JSON, layer.label_zh),
            _link(f"{base}?f=html", "alternate", "text/html", layer.label_zh),
            _link(f"{base}/items", "items", GEOJSON, f"{layer.label_zh} (GeoJSON)"),
            _link(f"{base}/items?f=html", "items", "text/html", f"{layer.label_zh} (HTML)"),
            _link(f"{base}/queryables", REL_QUERYABLES, JSON_SCHEMA, "可查询属性"),
            _link(f"{base}/schema", "describedby", JSON_SCHEMA, "属性结构"),
        ],
    }


@router.get("/collections", summary="Collections", responses=_answers(JSON, HTML))
async def collections(request: Request, settings: SettingsDep, f: Fmt = None) -> Response:
    """Every collection with its extent and CRS list."""
    layers = _layers(request)
    docs = [_collection_doc(request, layer, await layers.extent(layer, settings.srid), settings.srid)
            for layer in (await layers.available()).values()]
    base = _base(request)
    links = [_link(f"{base}/collections", "self", JSON), _link(f"{base}/collections?f=html", "alternate", "text/html")]
    body = {"links": links, "collections": docs, "crs": [c.uri for c in crsmod.offered(settings.srid)]}
    if _wants_html(request, f):
        rows = [[d["id"], d["title"], d["description"], f"{base}/collections/{d['id']}/items?f=html"] for d in docs]
        return _html("Collections 图层", html.table(["id", "title", "description", "items"], rows), links)
    return _json(body)


@router.get("/collections/{cid}", summary="One collection", responses=_answers(JSON, HTML))
async def collection(request: Request, settings: SettingsDep, cid: CollectionId, f: Fmt = None) -> Response:
    """The metadata of one collection."""
    layers = _layers(request)
    layer = await layers.get(cid)
    doc = _collection_doc(request, layer, await layers.extent(layer, settings.srid), settings.srid)
    if _wants_html(request, f):
        return _html(doc["title"], html.definition_list({k: v for k, v in doc.items() if k != "links"})
                     + html.links_list(doc["links"]), doc["links"])
    return _json(doc)


@router.get("/collections/{cid}/queryables", summary="Queryable properties (with Chinese titles)",
            responses=_answers(JSON_SCHEMA, HTML))
async def queryables(request: Request, principal: OptionalPrincipal, cid: CollectionId, f: Fmt = None) -> Response:
    """The properties a ``filter`` or a property parameter may use, as JSON Schema (no money figures for
    anonymous readers)."""
    layer = visible_layer(principal, await _layers(request).get(cid))
    doc = coll.queryables(layer, f"{_base(request)}/collections/{cid}/queryables")
    if _wants_html(request, f):
        rows = [[name, p.get("title"), p.get("type", p.get("format"))] for name, p in doc["properties"].items()]
        return _html(f"Queryables · {layer.label_zh}", html.table(["property", "title", "type"], rows))
    return _json(doc, JSON_SCHEMA)


@router.get("/collections/{cid}/schema", summary="Schema of the features", responses=_answers(JSON_SCHEMA))
async def schema(request: Request, principal: OptionalPrincipal, cid: CollectionId) -> Response:
    """Every property of the collection's features, as JSON Schema."""
    layer = visible_layer(principal, await _layers(request).get(cid))
    return _json(coll.queryables(layer, f"{_base(request)}/collections/{cid}/schema"), JSON_SCHEMA)


def _content_crs(out: crsmod.OgcCrs) -> dict[str, str]:
    """The ``Content-Crs`` header (Part 2)."""
    return {"Content-Crs": f"<{out.uri}>"}


@router.get("/collections/{cid}/items", summary="Features (GeoJSON); property filters as query parameters",
            response_class=Response, responses=_answers(GEOJSON, HTML))
async def items(
    request: Request,
    principal: OptionalPrincipal,
    rules: RulesDep,
    cid: CollectionId,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in bbox-crs (CRS84 degrees by default; "
                                                  "EPSG:4326/4490 in latitude, longitude order).")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS URI of bbox.")] = None,
    limit: Annotated[int, Query(ge=1, description=f"Features per page (default {q.DEFAULT_LIMIT}; larger values "
                                                   f"are served as {q.MAX_LIMIT}).",
                                json_schema_extra={"maximum": q.MAX_LIMIT})] = q.DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000, description="Features to skip (paging; next links set it).")
                      ] = 0,
    crs: Annotated[str | None, Query(description="CRS URI of the response geometry (default CRS84).")] = None,
    datetime: Annotated[str | None, Query(description="Instant or interval (RFC 3339, '..' open): parcels by "
                                                      "term_end, blocks by plan_year; ignored elsewhere.")] = None,
    sortby: Annotated[str | None, Query(description="Properties, '-' for descending: e.g. -plan_year,code.")] = None,
    properties: Annotated[str | None, Query(description="Comma-separated properties to return.")] = None,
    filter: Annotated[str | None, Query(description="CQL2-text, e.g. status = 'planned' AND "
                                                    "S_INTERSECTS(geometry, BBOX(121.2,30.1,121.3,30.2)).")] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang", description="cql2-text (the only one).")] = None,
    filter_crs: Annotated[str | None, Query(alias="filter-crs", description="CRS URI of geometries in filter.")
                          ] = None,
    f: Fmt = None,
) -> Response:
    """A page of features with numberMatched, numberReturned and next/prev links. Parcels carry their planning
    figures: 容积率 ``far``, 建筑密度 ``building_density``, the floor that applies ``far_floor`` (the block's
    exemption, else the configured floor; null when exempt) and ``pass``, usable in filters and sorting like any
    property (``filter=far < 1``, ``pass=false``, ``sortby=-far``); without invest, output and tax for anonymous
    readers (neither shown nor usable in filters and sorting)."""
    layer = visible_layer(principal, await _layers(request).get(cid))
    srid = request.app.state.settings.srid
    prop_filters: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key in _ITEMS_PARAMS:
            continue
        if layer.has_field(key):
            prop_filters[key] = value
        else:
            raise InvalidParameter(f"unknown query parameter {key!r}; properties of {cid}: "
                                   f"{', '.join(f.name for f in layer.fields)}",
                                   zh=f"未知的查询参数 {key!r}；{cid} 的属性有："
                                      f"{'、'.join(f.name for f in layer.fields)}", field=key)
    out = crsmod.parse_ogc_crs(crs, srid, "crs")
    where = q.items_where(layer, srid, rules=rules, bbox=bbox, bbox_crs=bbox_crs,
                          properties=prop_filters, datetime=datetime, filter=filter, filter_lang=filter_lang,
                          filter_crs=filter_crs)
    fields = q.select_fields(layer, properties)
    limit = min(limit, q.MAX_LIMIT)
    page = await q.run_items(request.app.state.pool, layer, fields, where, q.order_sql(layer, sortby), limit, offset,
                             out, srid)

    url = request.url
    want_html = _wants_html(request, f)
    links = [
        _link(str(url.remove_query_params("f")), "self" if not want_html else "alternate", GEOJSON, "本页"),
        _link(str(url.include_query_params(f="html")), "alternate" if not want_html else "self", "text/html",
              "本页 (HTML)"),
        _link(f"{_base(request)}/collections/{cid}", "collection", JSON, layer.label_zh),
    ]
    if offset + page.returned < page.matched:
        links.append(_link(str(url.include_query_params(offset=offset + limit, limit=limit)), "next",
                           "text/html" if want_html else GEOJSON, "下一页"))
    if offset > 0:
        links.append(_link(str(url.include_query_params(offset=max(0, offset - limit), limit=limit)), "prev",
                           "text/html" if want_html else GEOJSON, "上一页"))
    head = {
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": page.returned,
        "timeStamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "links": links,
    }
    if want_html:
        feats = json.loads(b"[" + page.features + b"]")
        cols = [f.name for f in fields]
        rows = [[ft["properties"].get(c) for c in cols] for ft in feats]
        summary = f"<p>{page.returned} / {page.matched}</p>"
        return _html(f"{layer.label_zh} · items", summary + html.table(cols, rows, [f"{f.name} {f.label_zh}"
                                                                                    for f in fields]), links)
    prefix = json.dumps(head, ensure_ascii=False).encode()[:-1]
    body = prefix + b',"features":[' + page.features + b"]}"
    return Response(body, media_type=GEOJSON, headers=_content_crs(out))


@router.get("/collections/{cid}/items/{fid}", summary="One feature by its code",
            response_class=Response, responses=_answers(GEOJSON, HTML))
async def item(request: Request, principal: OptionalPrincipal, rules: RulesDep, cid: CollectionId,
               fid: Annotated[str, Path(description="The feature's code (e.g. a 宗地编号).")],
               crs: Annotated[str | None, Query(description="CRS URI of the response geometry (default CRS84).")
                              ] = None,
               f: Fmt = None) -> Response:
    """One feature with links to its collection."""
    layer = visible_layer(principal, await _layers(request).get(cid))
    srid = request.app.state.settings.srid
    out = crsmod.parse_ogc_crs(crs, srid, "crs")
    feature = await q.run_one(request.app.state.pool, layer, fid, out, srid, rules=rules)
    if feature is None:
        raise NotFound(f"no feature {fid!r} in {cid}",
                       zh=f"{cid} 中没有要素 {fid!r}", field="featureId")
    base = f"{_base(request)}/collections/{cid}"
    links = [_link(f"{base}/items/{fid}", "self", GEOJSON), _link(base, "collection", JSON, layer.label_zh),
             _link(f"{base}/items/{fid}?f=html", "alternate", "text/html")]
    if _wants_html(request, f):
        props = json.loads(feature)["properties"]
        return _html(f"{layer.label_zh} {fid}", html.definition_list(
            {f"{fl.name} {fl.label_zh}": props.get(fl.name) for fl in layer.fields}), links)
    body = feature[:-1] + b',"links":' + json.dumps(links, ensure_ascii=False).encode() + b"}"
    return Response(body, media_type=GEOJSON, headers=_content_crs(out))
