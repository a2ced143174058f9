"""Coordinate reference systems at the edges: OGC CRS URIs, axis order, and envelopes in the storage CRS.

OGC API – Features Part 2 names a CRS by URI. CRS84 is longitude, latitude; EPSG:4326 and EPSG:4490
(geographic CGCS2000) are latitude, longitude in that part, so coordinates are swapped in and out.
Projected CRSs (EPSG:4549, EPSG:4528) are easting, northing.

Messages name parameters as the caller spells them (``bbox-crs`` in the API, ``--bbox-crs`` on the command
line): the functions that can refuse a value take the name.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from app.errors import InvalidParameter

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{code}"

# Output and bbox CRSs offered by the OGC API besides the storage CRS.
OFFERED_EPSG = (4326, 4490, 4549, 4528)
LAT_LON = frozenset({4326, 4490})  # geographic CRSs whose OGC axis order is latitude first

_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/(?:EPSG/0/(\d+)|OGC/1\.3/(CRS84))/?$", re.I)
_SHORT = re.compile(r"^(?:EPSG|urn:ogc:def:crs:EPSG:[^:]*):(?::)?(\d+)$", re.I)


@dataclass(frozen=True)
class OgcCrs:
    """A CRS as the OGC API uses it: the PostGIS SRID, its URI, and whether axes are latitude first."""

    srid: int
    uri: str
    lat_lon: bool = False

    @property
    def is_geographic(self) -> bool:
        """Whether coordinates are degrees."""
        return _geographic(self.srid)

    @property
    def digits(self) -> int:
        """Decimal digits of GeoJSON coordinates: 8 in degrees (≈1 mm), 3 in metres (1 mm)."""
        return 8 if self.is_geographic else 3


CRS84 = OgcCrs(4326, CRS84_URI, lat_lon=False)


def epsg_crs(code: int) -> OgcCrs:
    """The OGC form of ``EPSG:code``."""
    return OgcCrs(code, EPSG_URI.format(code=code), lat_lon=code in LAT_LON)


def offered(storage_srid: int) -> list[OgcCrs]:
    """CRSs the API offers: CRS84 first, then the EPSG list and the storage CRS."""
    codes = list(OFFERED_EPSG)
    if storage_srid not in codes:
        codes.append(storage_srid)
    return [CRS84, *(epsg_crs(c) for c in codes)]


def parse_ogc_crs(raw: str | None, storage_srid: int, field: str) -> OgcCrs:
    """Parse an OGC CRS URI (or ``EPSG:n``, ``CRS84``) and check that the API offers it."""
    if raw is None or raw == "":
        return CRS84
    value = raw.strip().strip("<>")
    match = _URI.match(value)
    code: int | None = None
    if match:
        if match.group(2):
            return CRS84
        code = int(match.group(1))
    elif value.upper() in ("CRS84", "OGC:CRS84"):
        return CRS84
    else:
        short = _SHORT.match(value)
        if short:
            code = int(short.group(1))
    allowed = offered(storage_srid)
    if code is not None:
        for item in allowed:
            if item.srid == code and item.uri != CRS84_URI:
                return item
    raise InvalidParameter(f"{field}: unsupported CRS {raw!r}; use one of {', '.join(c.uri for c in allowed)}",
                           zh=f"{field}：不支持的坐标系 {raw!r}；请使用 {'、'.join(c.uri for c in allowed)} 之一",
                           field=field)


def parse_any_crs(raw: str, field: str = "crs") -> CRS:
    """Any CRS pyproj knows (``EPSG:4528``, a URI, WKT), for exports and imports."""
    try:
        return CRS.from_user_input(raw.strip())
    except CRSError as err:
        raise InvalidParameter(f"unknown CRS {raw!r}: {err}",
                               zh=f"未知的坐标系 {raw!r}：{err}", field=field) from err


def epsg_of(crs: CRS, field: str = "crs") -> int:
    """The EPSG code of ``crs`` (PostGIS transforms by SRID), or an error."""
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        raise InvalidParameter(f"{field}: the CRS has no EPSG code; give it as EPSG:n",
                               zh=f"{field}：该坐标系没有 EPSG 代码，请写成 EPSG:n", field=field)
    return code


@lru_cache(maxsize=64)
def _geographic(srid: int) -> bool:
    """Whether EPSG:``srid`` is in degrees (cached: building a CRS costs more than a request's other work)."""
    return bool(CRS.from_epsg(srid).is_geographic)


@lru_cache(maxsize=64)
def _transformer(src: int, dst: int) -> Transformer:
    """A cached lon/lat-ordered transformer between two EPSG codes."""
    return Transformer.from_crs(CRS.from_epsg(src), CRS.from_epsg(dst), always_xy=True)


@lru_cache(maxsize=8)
def _service_area(storage_srid: int) -> tuple[float, float, float, float]:
    """Lon/lat window where the storage projection is usable: its area of use widened by 3°."""
    area = CRS.from_epsg(storage_srid).area_of_use
    if area is None:
        return (-180.0, -90.0, 180.0, 90.0)
    return (max(area.west - 3, -180.0), max(area.south - 3, -90.0), min(area.east + 3, 180.0),
            min(area.north + 3, 90.0))


def _xy(values: tuple[float, float, float, float], crs: OgcCrs) -> tuple[float, float, float, float]:
    """Four bbox numbers put in x, y (lon, lat) order."""
    a, b, c, d = values
    return (b, a, d, c) if crs.lat_lon else (a, b, c, d)


def geometry_to_storage(geom: shapely.Geometry, crs: OgcCrs, storage_srid: int) -> shapely.Geometry:
    """A geometry given in ``crs`` (axis order as OGC says) moved to the storage CRS, densified first."""
    if crs.lat_lon:
        geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
    if crs.srid == storage_srid:
        return geom
    if _geographic(crs.srid):
        west, south, east, north = _service_area(storage_srid)
        geom = shapely.clip_by_rect(geom, west, south, east, north)
        step = 0.01
    else:
        step = 100.0
    geom = shapely.segmentize(geom, step) if not geom.is_empty else geom
    tr = _transformer(crs.srid, storage_srid)
    return shapely.transform(geom, lambda xy: _apply(tr, xy))


def _apply(tr: Transformer, xy: np.ndarray) -> np.ndarray:
    """Apply a transformer to an (n, 2) coordinate array."""
    x, y = tr.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def parse_bbox(raw: str, field: str = "bbox") -> tuple[float, float, float, float]:
    """Four numbers ``minx,miny,maxx,maxy`` (a 6-number 3D bbox drops its heights)."""
    try:
        nums = [float(v) for v in raw.split(",")]
    except ValueError:
        raise InvalidParameter(f"{field} must be numbers: minx,miny,maxx,maxy",
                               zh=f"{field} 应为数字：minx,miny,maxx,maxy", field=field) from None
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    if len(nums) != 4 or not all(math.isfinite(v) for v in nums):
        raise InvalidParameter(f"{field} must be four numbers: minx,miny,maxx,maxy",
                               zh=f"{field} 应为四个数：minx,miny,maxx,maxy", field=field)
    return (nums[0], nums[1], nums[2], nums[3])


def param_hint(name: str, value: str) -> str:
    """How the caller passes ``value`` to the parameter ``name``: ``bbox-crs=VALUE`` in a URL, ``--bbox-crs VALUE``
    on the command line (``name`` is given by the caller, with its dashes)."""
    return f"{name} {value}" if name.startswith("--") else f"{name}={value}"


def check_degrees(values: tuple[float, float, float, float], crs: OgcCrs, storage_srid: int, *,
                  field: str = "bbox", crs_param: str = "bbox-crs") -> None:
    """Refuse a bbox in a geographic CRS whose numbers cannot be degrees (beyond ±180 or ±90): most likely
    metres of a projected CRS, given without saying so; the hint names ``crs_param`` (the caller's wording)."""
    if not crs.is_geographic:
        return
    lon_lo, lat_lo, lon_hi, lat_hi = _xy(values, crs)
    if all(abs(v) <= 180 for v in (lon_lo, lon_hi)) and all(abs(v) <= 90 for v in (lat_lo, lat_hi)):
        return
    shown = ",".join(f"{v:.12g}" for v in values)
    if crs.uri == CRS84_URI:
        means = f"without {crs_param}, {field} is longitude, latitude in degrees (CRS84)"
    else:
        means = f"in {crs.uri}, {field} is {'latitude, longitude' if crs.lat_lon else 'longitude, latitude'} in degrees"
    storage = param_hint(crs_param, EPSG_URI.format(code=storage_srid))
    raise InvalidParameter(f"{field}: {shown} cannot be degrees: {means}; for metres name their CRS, e.g. "
                           f"{storage} (the storage CRS, EPSG:{storage_srid})",
                           zh=f"{field}：{shown} 不可能是经纬度（度）；若单位是米，请指明其坐标系，例如 {storage}（存"
                              f"储坐标系 EPSG:{storage_srid}）", field=field)


def bbox_to_storage(values: tuple[float, float, float, float], crs: OgcCrs, storage_srid: int, *,
                    field: str = "bbox", crs_param: str = "bbox-crs") -> shapely.Geometry:
    """The area of a bbox (in ``crs`` axis order) as a polygon in the storage CRS; empty when off the map.

    Numbers that cannot be degrees in a geographic CRS are refused with a hint to name their CRS
    (``crs_param``: the parameter as the caller spells it) rather than matching nothing.
    """
    check_degrees(values, crs, storage_srid, field=field, crs_param=crs_param)
    minx, miny, maxx, maxy = _xy(values, crs)
    if minx > maxx or miny > maxy:
        raise InvalidParameter(f"{field}: the lower corner must not exceed the upper corner",
                               zh=f"{field}：左下角不能大于右上角", field=field)
    box = shapely.box(minx, miny, maxx, maxy)
    return geometry_to_storage(box, OgcCrs(crs.srid, crs.uri, lat_lon=False), storage_srid)


def storage_bounds_to_crs84(bounds: tuple[float, float, float, float], storage_srid: int
                            ) -> tuple[float, float, float, float]:
    """A storage-CRS envelope as a CRS84 bbox (densified, so it encloses the area)."""
    box = shapely.segmentize(shapely.box(*bounds), max(bounds[2] - bounds[0], bounds[3] - bounds[1], 1.0) / 20)
    moved = shapely.transform(box, lambda xy: _apply(_transformer(storage_srid, 4326), xy))
    minx, miny, maxx, maxy = moved.bounds
    return (round(minx, 7), round(miny, 7), round(maxx, 7), round(maxy, 7))


# CGCS2000 3° Gauss-Krüger: zone z is EPSG:(4488 + z) with the zone number in the easting
# (false easting z·10⁶ + 500 000), and EPSG:(4509 + z) without it; z = 39, 40, 41 around Cixi.
_ZONE_PREFIXED, _ZONE_PLAIN = 4488, 4509


def check_source_coordinates(crs: CRS, bounds: tuple[float, float, float, float], storage_srid: int) -> None:
    """Refuse data whose coordinates do not fit its declared CRS, with the CRS that would fit when it is clear.

    Catches the usual Gauss-Krüger mix-ups: zone-prefixed eastings (40 620 370) declared without the zone
    (EPSG:4549), plain eastings declared as zone-prefixed, the wrong zone (EPSG:4527 for zone-40 data), and
    anything that lands outside the area the storage CRS serves.
    """
    minx, miny, maxx, maxy = bounds
    if not all(math.isfinite(v) for v in bounds):
        return
    declared = crs.to_epsg()
    if crs.is_projected:
        x0 = float(crs.to_dict().get("x_0", 0) or 0)
        zone_in_data = int(minx // 1_000_000)
        if x0 < 1_000_000 <= minx and 13 <= zone_in_data <= 45:
            raise InvalidParameter(
                f"eastings such as {minx:,.0f} carry a zone number ({zone_in_data}) but the CRS "
                f"(EPSG:{declared}) has none: the data is probably EPSG:{_ZONE_PREFIXED + zone_in_data}",
                zh=f"{minx:,.0f} 这样的横坐标带有带号（{zone_in_data}），但坐标系（EPSG:{declared}）不带带号：数据很"
                   f"可能是 EPSG:{_ZONE_PREFIXED + zone_in_data}", field="crs")
        if x0 >= 1_000_000:
            zone_of_crs = int(x0 // 1_000_000)
            if minx < 1_000_000:
                raise InvalidParameter(
                    f"eastings such as {minx:,.0f} carry no zone number but the CRS (EPSG:{declared}) is "
                    f"zone-prefixed: the data is probably EPSG:{_ZONE_PLAIN + zone_of_crs}",
                    zh=f"{minx:,.0f} 这样的横坐标不带带号，但坐标系（EPSG:{declared}）带带号：数据很可能是 EPSG:"
                       f"{_ZONE_PLAIN + zone_of_crs}", field="crs")
            if zone_in_data != zone_of_crs:
                raise InvalidParameter(
                    f"eastings start with zone {zone_in_data} but the CRS (EPSG:{declared}) is zone {zone_of_crs}: "
                    f"the data is probably EPSG:{_ZONE_PREFIXED + zone_in_data}",
                    zh=f"横坐标的带号是 {zone_in_data}，但坐标系（EPSG:{declared}）是第 {zone_of_crs} 带：数据很可能"
                       f"是 EPSG:{_ZONE_PREFIXED + zone_in_data}", field="crs")
    to_lonlat = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
    lon, lat = to_lonlat.transform((minx + maxx) / 2, (miny + maxy) / 2)
    west, south, east, north = _service_area(storage_srid)
    if not (math.isfinite(lon) and math.isfinite(lat) and west <= lon <= east and south <= lat <= north):
        raise InvalidParameter(
            f"the features lie around {lon:.3f}°E {lat:.3f}°N, outside the area the storage CRS "
            f"(EPSG:{storage_srid}) serves: is the CRS (EPSG:{declared}) right?",
            zh=f"要素位于 {lon:.3f}°E {lat:.3f}°N 附近，在存储坐标系（EPSG:{storage_srid}）的适用范围之外：坐标系（EP"
               f"SG:{declared}）是否正确？", field="crs")
