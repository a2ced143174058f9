"""Media types and file formats in one place: routes and writers never spell content types inline."""

from __future__ import annotations

from dataclasses import dataclass

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html; charset=utf-8"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
JSON_SCHEMA = "application/schema+json"
ZIP = "application/zip"


@dataclass(frozen=True)
class ExportFormat:
    """A file format for exports: its name in URLs and the CLI, GDAL driver, media type and file suffix."""

    name: str
    label: str
    driver: str | None
    media_type: str
    suffix: str
    geometry: bool = True


EXPORT_FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("shp", "ESRI Shapefile (zip)", "ESRI Shapefile", ZIP, ".zip"),
        ExportFormat("gpkg", "GeoPackage", "GPKG", "application/geopackage+sqlite3", ".gpkg"),
        ExportFormat("geojson", "GeoJSON", "GeoJSON", GEOJSON, ".geojson"),
        ExportFormat("csv", "CSV (UTF-8 with BOM, WKT geometry)", None, "text/csv; charset=utf-8", ".csv"),
        ExportFormat("xlsx", "Excel workbook (Chinese column labels, no geometry)", None,
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", geometry=False),
    )
}
