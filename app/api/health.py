"""Health check: the service and its PostGIS answer."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import ConnectionDep

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Service and database health")
def healthz(conn: ConnectionDep) -> dict[str, str]:
    """``{"status": "ok", "postgis": "<version>"}``; 503 with a JSON body while the database is away."""
    version = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
    return {"status": "ok", "postgis": str(version)}
