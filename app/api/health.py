"""Health check: the service and its PostGIS answer."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ConnectionDep
from app.db.schema import postgis_version

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service and database health")
def healthz(conn: ConnectionDep) -> dict[str, str]:
    """``{"status": "ok", "postgis": "<version>"}``; 503 with a JSON body while the database is away."""
    return {"status": "ok", "postgis": postgis_version(conn)}
