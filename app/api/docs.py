"""The API documentation pages, Swagger UI at ``/docs`` and ReDoc at ``/redoc``, with every asset served here.

FastAPI's own pages load their scripts, styles, fonts and favicon from CDNs, which an intranet cannot reach;
these use the same page builders with the copies in ``web/vendor/docs/`` (see ``web/vendor/build-docs.sh``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_ASSETS = "/static/vendor/docs"
_FAVICON = "/static/favicon.svg"


def _root(request: Request) -> str:
    """The path the application is mounted under (empty unless behind a proxy that says otherwise)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on this service's OpenAPI document."""
    root = _root(request)
    return get_swagger_ui_html(openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} · API",
                               oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
                               swagger_js_url=f"{root}{_ASSETS}/swagger-ui-bundle.js",
                               swagger_css_url=f"{root}{_ASSETS}/swagger-ui.css",
                               swagger_favicon_url=f"{root}{_FAVICON}")


@router.get("/docs/oauth2-redirect")
def swagger_ui_redirect() -> HTMLResponse:
    """The OAuth2 redirect page of Swagger UI."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc on this service's OpenAPI document (no web fonts: the system's own)."""
    root = _root(request)
    return get_redoc_html(openapi_url=f"{root}{request.app.openapi_url}", title=f"{request.app.title} · ReDoc",
                          redoc_js_url=f"{root}{_ASSETS}/redoc.standalone.js", redoc_favicon_url=f"{root}{_FAVICON}",
                          with_google_fonts=False)
