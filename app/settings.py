"""Configuration: one pydantic-settings class read from ``RENEWAL_*`` variables and ``DATABASE_URL``.

:class:`Settings` is built once where the application or the CLI is assembled (``create_app``, the CLI's
callback) and handed down; domain code receives the groups it needs (``settings.rules``,
``settings.programme``, ``settings.limits``, ``settings.tiles``) as arguments and never reads the environment.
Each group keeps its own variable prefix (``RENEWAL_RULE_*``, ``RENEWAL_PROGRAMME_*``, ``RENEWAL_IMPORT_*``,
``RENEWAL_TILE_*``) and is read when the settings are built.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.io.safety import IOLimits
from app.models import DEFAULT_SRID
from app.planning.config import PlanningRules
from app.programme.config import ProgrammeRules

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class TileSettings(BaseSettings):
    """Vector tiles: the in-process cache and compression, read from ``RENEWAL_TILE_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="RENEWAL_TILE_", extra="ignore", frozen=True)

    cache_mb: float = Field(64.0, ge=0, description="Tile cache size in MiB; 0 disables the cache.")
    version_check_s: float = Field(1.0, gt=0, description="Seconds between reads of data_version (the tile "
                                   "cache's invalidation and the version in tile URLs).")
    gzip_level: int = Field(1, ge=1, le=9, description="zlib level for clients that accept gzip.")
    gzip_min_bytes: int = Field(1024, ge=0, description="Tiles smaller than this are sent uncompressed.")
    max_age_s: int = Field(60, ge=0, description="Cache-Control max-age (s) of a tile requested without a "
                           "version (a versioned tile URL is cached for a year: it changes when the data does).")


class Settings(BaseSettings):
    """Service settings; every field can be set as ``RENEWAL_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="RENEWAL_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "RENEWAL_DATABASE_URL"),
        description="SQLAlchemy URL of an existing PostGIS database; unset = the project's own cluster.",
    )
    srid: int = Field(DEFAULT_SRID, description="Storage CRS (projected, metres) of a new database; CGCS2000 3° GK "
                      "CM 120E by default. The migrations create the layers in it.")
    pg_port: int = Field(54329, description="Port of the project's own PostgreSQL cluster (127.0.0.1).")
    pg_data: Path | None = Field(
        None, description="Data directory of the own cluster; default .data/pg, or under "
        "/var/lib/postgresql/renewal/ when running as root."
    )
    pg_db: str = Field("renewal", description="Database name in the own cluster.")
    pg_user: str = Field("renewal", description="Superuser of the own cluster (trust auth on loopback).")
    pg_install: bool = Field(True, description="Install postgresql-15-postgis-3 with apt when missing.")
    host: str = Field("127.0.0.1", description="Address `renewal serve` binds.")
    port: int = Field(8000, description="Port `renewal serve` binds.")
    workers: int = Field(1, description="uvicorn worker processes.")
    sample_scale: float = Field(0.02, description="Scale of the sample loaded by `make run` (1 = city size).")
    sample_seed: int = Field(42, description="Seed of the sample generator.")
    basemap_url: str | None = Field(
        None, description="XYZ tile URL template for an optional basemap; none by default (intranet)."
    )
    basemap_attribution: str = Field("", description="Attribution shown for the basemap.")
    joint_tolerance_m: float = Field(
        0.5, ge=0, le=5, description="联合开发: gaps/overlaps narrower than this (m) still make parcels adjacent.")
    land_rate: float = Field(
        0.06, gt=0, lt=1, description="土地还原率 r for joint-development top-ups (GB/T 18508-2014 "
        "《城镇土地估价规程》 收益还原法); 6 % is 暂定值 (provisional) until the bureau gives Cixi's rate: "
        "set RENEWAL_LAND_RATE.")
    db_connect_timeout_s: int = Field(3, description="Seconds before a database connection attempt fails.")
    db_statement_timeout_ms: int = Field(30000, description="Statement timeout for API requests (ms).")
    read_pool_size: int = Field(8, ge=1, description="asyncpg connections per worker for the hot reads (tiles and "
                                "OGC API items); about 4 per core of the database host: more only adds context "
                                "switches.")
    otel: bool = Field(False, description="FastAPI's native OpenTelemetry (traces, metrics and logs to the globally "
                       "configured providers). Off by default: without a collector it only costs a lookup per request.")
    # trust (issue 8): accounts, tokens, hostile input; see docs/security.md
    auth_secret: SecretStr | None = Field(
        None, description="HS256 key that signs access tokens (≥ 32 characters). Unset: a random key kept in "
        ".data/auth-secret (created once, mode 0600); set it in production, the same on every host.")
    token_ttl_s: int = Field(3600, ge=60, le=86400, description="Lifetime of an access token (s).")
    read_requires_login: bool = Field(
        False, description="True: every read (API, OGC, tiles) needs a token; the map page offers a login.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed cross-origin (comma-separated); none by default.")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="Largest request body (bytes) except "
                                "POST /api/import, which has RENEWAL_IMPORT_MAX_UPLOAD_MB; 413 above.")
    login_max_failures: int = Field(5, ge=1, description="Failed logins per user name within the window "
                                    "before further attempts get 429.")
    login_max_failures_per_ip: int = Field(20, ge=1, description="Failed logins per client address within "
                                           "the window before further attempts get 429.")
    login_window_s: int = Field(300, ge=1, description="Window of the login rate limits (s).")
    # programme reports (issue 7): PDFs are printed by Debian's Chromium, headless
    report_chromium: str = Field("chromium", description="Chromium executable that prints report PDFs (name on "
                                 "PATH or a path), e.g. /usr/bin/chromium.")
    report_timeout_s: int = Field(60, ge=5, description="Seconds a PDF may take to print before it fails.")

    # groups of their own, each read from its own variables when the settings are built
    rules: PlanningRules = Field(default_factory=PlanningRules, description="Planning rules (RENEWAL_RULE_*).")
    programme: ProgrammeRules = Field(default_factory=ProgrammeRules,
                                      description="Programme deadlines, targets and incentives (RENEWAL_PROGRAMME_*).")
    limits: IOLimits = Field(default_factory=IOLimits, description="Import limits (RENEWAL_IMPORT_*).")
    tiles: TileSettings = Field(default_factory=TileSettings, description="Vector tiles (RENEWAL_TILE_*).")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """``RENEWAL_CORS_ORIGINS`` as a comma-separated list (a JSON list is accepted too)."""
        if isinstance(value, str):
            raw = value.strip()
            if raw.startswith("["):
                return json.loads(raw)
            return [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]
        return value

    def own_cluster_url(self, database: str | None = None) -> str:
        """URL of the project's own cluster (trust auth on 127.0.0.1)."""
        db = database or self.pg_db
        return f"postgresql+psycopg://{self.pg_user}@127.0.0.1:{self.pg_port}/{db}"

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL in SQLAlchemy form, with the psycopg 3 driver."""
        url = self.database_url or self.own_cluster_url()
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once from the environment (for the app factory and the CLI only)."""
    return Settings()
