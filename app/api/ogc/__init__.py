"""OGC API – Features (Parts 1, 2 and 3) at ``/ogc``: see ``routes``."""

from app.api.ogc.routes import router

__all__ = ["router"]
