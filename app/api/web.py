"""The map page and its configuration (served from web/; every asset local, no CDN)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.api.deps import SettingsDep
from app.settings import PROJECT_ROOT

router = APIRouter(tags=["map"])


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The map page."""
    return FileResponse(PROJECT_ROOT / "web" / "index.html", media_type="text/html")


@router.get("/config.json", summary="Map configuration (basemap, storage CRS)")
def config(settings: SettingsDep) -> dict[str, object]:
    """What the page needs to know: the optional basemap and the storage CRS."""
    return {
        "basemap_url": settings.basemap_url,
        "basemap_attribution": settings.basemap_attribution,
        "srid": settings.srid,
    }
