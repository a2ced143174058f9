"""File interchange over HTTP: ``GET /api/export`` (shp zip, gpkg, geojson, csv, xlsx) and ``POST /api/import``.

Exports are written completely to a temporary folder first (an error gives a JSON error, never half a
file), then streamed from disk and deleted. Imports stream the upload to disk, counting bytes, and stop
with 413 past the configured limit; the import itself is one transaction (see ``app.io.importer``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import AsyncGenerator
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.api.deps import EditorOrAdmin, OptionalPrincipal
from app.api.errors import error_response, scope_language
from app.api.redact import require_login_for
from app.auth.imports import ImportGuard
from app.errors import InvalidParameter, RenewalError
from app.io import exporter, importer
from app.io.formats import EXPORT_FORMATS
from app.io.reading import without_paths
from app.io.safety import IOLimits, PayloadTooLarge
from app.planning.money import MONEY_LAYERS

_UNSAFE = re.compile(r"[^\w.-]")  # characters kept out of file names (\w includes Chinese)

router = APIRouter(prefix="/api", tags=["import and export"])


def _import_guard(request: Request, user: EditorOrAdmin) -> None:
    """A town editor or an admin may import (401/403 otherwise); the guard checks mode and towns and audits."""
    request.state.import_guard = ImportGuard(user.username, user)


# Auth hook (issue 8): town editors (append/upsert, own town only) and admins (any mode) import; see
# app.auth.imports for the checks made inside the import's transaction and its audit row.
IMPORT_DEPENDENCIES: list[Any] = [Depends(_import_guard)]

_FORM_FIELDS = ("layer", "mode", "dry_run", "strict", "crs", "encoding")


@router.get("/export", summary="Export a layer as a file", response_class=FileResponse,
            responses={200: {"content": {f.media_type: {} for f in EXPORT_FORMATS.values()}}})
def export(
    request: Request,
    principal: OptionalPrincipal,
    layer: Annotated[str, Query(description="towns, blocks, parcels, buildings (enterprises: csv, xlsx).")],
    format: Annotated[str, Query(description="shp (zip), gpkg, geojson, csv or xlsx.")] = "gpkg",
    town: Annotated[str | None, Query(description="Only features in this town (区划代码, e.g. 330282107).")] = None,
    block: Annotated[str | None, Query(description="Only features in this block (区块编号).")] = None,
    status: Annotated[str | None, Query(description="Only features of blocks with this status (实施状态).")] = None,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in bbox-crs (default CRS84).")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs", description="CRS URI of bbox.")] = None,
    crs: Annotated[str | None, Query(description="Output CRS, e.g. EPSG:4326; default the storage CRS "
                                                 "(EPSG:4549).")] = None,
    encoding: Annotated[str, Query(description="Shapefile text encoding: utf-8 or gbk (CP936, older ArcGIS).")
                        ] = "utf-8",
    geometry: Annotated[str, Query(description="CSV geometry: wkt (a WKT column) or none.")] = "wkt",
) -> FileResponse:
    """The layer's features with their interchange attributes (and planning figures for parcels and blocks)."""
    if layer in MONEY_LAYERS:
        require_login_for(principal, f"the {layer} export", f"{layer} 的导出")
    fmt = exporter.export_format(format)
    name = layer + (f"_{town}" if town else "") + (f"_{block}" if block else "") + (f"_{status}" if status else "")
    name = _UNSAFE.sub("_", name)  # only the download name carries the codes; the file on disk is fixed
    suffix = ".shp.zip" if fmt.name == "shp" else fmt.suffix
    filename = f"{name}{suffix}"
    work = Path(tempfile.mkdtemp(prefix="renewal-export-"))
    try:
        result = exporter.export(
            request.app.state.engine, layer, work / f"export{suffix}", fmt=fmt.name, crs=crs,
            flt=exporter.ExportFilter(town=town, block=block, status=status, bbox=bbox, bbox_crs=bbox_crs),
            encoding=encoding, geometry=geometry, rules=request.app.state.settings.rules,
        )
    except BaseException as err:
        shutil.rmtree(work, ignore_errors=True)
        if isinstance(err, RenewalError):
            without_paths(err)  # a message never shows where the server writes
        raise
    headers = {"X-Feature-Count": str(result.count), "X-Crs": result.crs,
               "X-Truncated-Values": str(len(result.truncated))}
    return FileResponse(result.path, media_type=fmt.media_type, filename=filename, headers=headers,
                        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True))


async def _counted(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, stopping with 413 once it passes ``limit`` bytes."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise PayloadTooLarge(f"the upload is larger than the limit of {limit / 2**20:g} MiB",
                                  zh=f"上传文件超过 {limit / 2**20:g} MiB 的上限", field="file")
        yield chunk


def _flag(raw: str | None, name: str) -> bool:
    """A yes/no form field."""
    if raw is None or raw == "":
        return False
    low = raw.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise InvalidParameter(f"{name} must be true or false",
                           zh=f"{name} 应为 true 或 false", field=name)


_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file", "layer"],
            "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "Zipped shapefile, GeoPackage, GeoJSON, or CSV (enterprises)."},
                "layer": {"type": "string", "enum": ["towns", "blocks", "parcels", "buildings", "enterprises"]},
                "mode": {"type": "string", "enum": list(importer.MODES), "default": "append"},
                "dry_run": {"type": "boolean", "default": False,
                            "description": "Check and report what would change; write nothing."},
                "strict": {"type": "boolean", "default": False,
                           "description": "Refuse invalid geometry (instead of repairing it) and warnings."},
                "crs": {"type": "string", "description": "CRS of a file that declares none, e.g. EPSG:4528."},
                "encoding": {"type": "string", "description": "Text encoding of a shapefile without .cpg "
                                                             "or of a CSV: utf-8 or gbk (default: detected)."},
            },
        }}},
    }
}


@router.post("/import", summary="Import a layer from a file (one transaction; report per feature)",
             dependencies=IMPORT_DEPENDENCIES, openapi_extra=_IMPORT_BODY,
             responses={409: {"description": "Codes already exist (mode append)"},
                        413: {"description": "Upload over the configured limit"},
                        422: {"description": "The file has errors; the body holds the report"}})
async def import_(request: Request) -> JSONResponse:
    """Check and import the uploaded file; 200 with the report, or 4xx with it and nothing written."""
    limits: IOLimits = request.app.state.settings.limits
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_upload_bytes + 64 * 1024:
        raise PayloadTooLarge(f"the upload is larger than the limit of {limits.max_upload_mb:g} MiB",
                              zh=f"上传文件超过 {limits.max_upload_mb:g} MiB 的上限", field="file")
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise InvalidParameter("send the file as multipart/form-data with fields file and layer",
                               zh="请以 multipart/form-data 发送文件，包含 file 和 layer 字段", field="file")
    parser = MultiPartParser(request.headers, _counted(request, limits.max_upload_bytes), max_files=1,
                             max_fields=len(_FORM_FIELDS) + 2)
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise InvalidParameter(f"cannot read the upload: {err.message}",
                               zh=f"无法读取上传内容：{err.message}", field="file") from err
    work = Path(tempfile.mkdtemp(prefix="renewal-upload-"))
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidParameter("the form has no file field",
                                   zh="表单中没有 file 字段", field="file")
        values = {k: form.get(k) for k in _FORM_FIELDS}
        text_values = {k: v if isinstance(v, str) else None for k, v in values.items()}
        layer = text_values["layer"]
        if not layer:
            raise InvalidParameter("the form has no layer field",
                                   zh="表单中没有 layer 字段", field="layer")
        guard: ImportGuard = request.state.import_guard
        guard.authorise(layer, text_values["mode"] or "append")
        safe_name = _UNSAFE.sub("_", PurePath(upload.filename or "upload").name).strip(".") or "upload"
        path = work / safe_name
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        await upload.close()
        try:
            report = await run_in_threadpool(
                importer.import_file, request.app.state.engine, path, layer,
                crs=text_values["crs"] or None, encoding=text_values["encoding"] or None,
                mode=text_values["mode"] or "append", dry_run=_flag(text_values["dry_run"], "dry_run"),
                strict=_flag(text_values["strict"], "strict"), limits=limits, hooks=guard, crs_param="crs",
            )
        except (importer.ImportRejected, importer.ImportConflict) as err:
            return error_response(err.status, err.code, err.detail, err.field, zh=err.zh,
                                  lang=scope_language(request.scope), extra={"report": err.report.to_dict()})
    finally:
        await form.close()
        shutil.rmtree(work, ignore_errors=True)
    if not report.dry_run:
        request.app.state.layers.forget()
    return JSONResponse(report.to_dict())
