"""The map page, its configuration and its legend (served from web/; every asset local, no CDN)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app.api.deps import SettingsDep
from app.planning import legend
from app.settings import PROJECT_ROOT, Settings

router = APIRouter(tags=["map"])


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    """The map page."""
    return FileResponse(PROJECT_ROOT / "web" / "index.html", media_type="text/html")


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """The service's icon (web/favicon.ico, drawn from web/favicon.svg) for every page, also those that do not
    link one (browsers ask for /favicon.ico)."""
    return FileResponse(PROJECT_ROOT / "web" / "favicon.ico", media_type="image/vnd.microsoft.icon",
                        headers={"Cache-Control": "public, max-age=86400"})


@router.get("/config.json", summary="Map configuration (basemap, storage CRS)")
def config(settings: SettingsDep) -> dict[str, object]:
    """What the page needs to know: the optional basemap and the storage CRS."""
    return {
        "basemap_url": settings.basemap_url,
        "basemap_attribution": settings.basemap_attribution,
        "srid": settings.srid,
    }


@router.get("/api/map/legend", summary="The maps' legend: colours, labels, 容积率 bands and the thresholds shown")
def map_legend(request: Request) -> dict[str, Any]:
    """The style every map of the service uses (app.planning.legend), for the configured rules.

    ``thresholds``: the 容积率 floor (``far_min``) and the 亩均税收 lines in 万元/亩 (``old_block_tax_per_mu_wan``,
    the old-block entry line, 5 by default; ``target_tax_per_mu_wan``, the 2026 target, 15 by default).
    ``statuses`` and ``modes``: block classes with Chinese and English labels and fill colours (mode ``none``: not
    decided). ``far_bands``: 容积率 bands, lowest first (``lower`` ≤ far < ``upper``, null unbounded), split at
    ``far_min``. ``compliance``: pass and fail colours (a failing parcel's outline is ``fail.line``).
    ``compliance.fail.hatch``: the colour of the hatch over failing parcels, ``hatch_spacing`` its line spacing
    (CSS px). ``selection``: the outline of the selected feature (``colour`` on a ``line`` casing; no fill uses
    it), ``joint``: joint developments. ``tax_bands``: the 亩均税收 badges. ``flags``, ``buildings``: parcel flags
    and buildings. ``charts``: the dashboard's colours. The map page and the dashboard draw with these values and
    hard-code none of them.
    """
    settings: Settings = request.app.state.settings
    return legend.legend(settings.rules)
