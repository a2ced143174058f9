"""The tile service: a lean asyncpg pool, one prepared statement per layer and connection, a bounded tile cache.

Tiles are bytes from ``ST_AsMVT`` handed straight to the response; nothing is decoded or re-encoded in
Python. The optional cache (LRU, bounded in bytes) is invalidated through the ``data_version`` table that
statement-level triggers bump on every change to towns, blocks, parcels and buildings (migration 0003):
the service reads it at most every ``version_check_s`` seconds, and drops the whole cache when it moved.
A tile computed while the version moved is not stored, so a stale tile never outlives one check.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections import OrderedDict
from typing import Any

import asyncpg

from app.db.lean_pool import LeanPool
from app.planning.config import PlanningRules, get_rules
from app.settings import Settings
from app.tiles.layers import TileLayer

log = logging.getLogger("renewal.tiles")

TileKey = tuple[str, int, int, int, bool]
"""(layer, z, x, y, gzipped)."""

VERSION_SQL = "SELECT version FROM data_version WHERE id = 1"


class TileCache:
    """A least-recently-used map of tile bytes, bounded by the sum of their sizes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[TileKey, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: TileKey) -> bytes | None:
        """The cached bytes for ``key``, marked as recently used; None when absent."""
        data = self._items.get(key)
        if data is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return data

    def put(self, key: TileKey, data: bytes) -> None:
        """Store ``data``, evicting the least recently used tiles beyond the byte bound."""
        size = len(data) + 100  # the key and the entry cost something even for an empty tile
        if size > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= len(old) + 100
        self._items[key] = data
        self.nbytes += size
        while self.nbytes > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.nbytes -= len(evicted) + 100

    def clear(self) -> None:
        """Forget every tile."""
        self._items.clear()
        self.nbytes = 0


class TileService:
    """Answers tiles of the whitelisted layers from PostGIS, through the cache when it is enabled."""

    def __init__(self, settings: Settings, rules: PlanningRules | None = None) -> None:
        self.settings = settings
        self.rules = rules or get_rules()
        self.srid = settings.srid
        self.cache = TileCache(int(settings.tile_cache_mb * 1024 * 1024)) if settings.tile_cache_mb > 0 else None
        self.version: int | None = None
        self.generation = 0
        self._checked_at = float("-inf")
        self._checking = False
        self._pool = LeanPool(settings, settings.tile_pool_size, "renewal-tiles")  # connects on first use

    async def close(self) -> None:
        """Close the pool's connections."""
        await self._pool.close()

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        """One value from a statement (prepared once per connection by asyncpg)."""
        return await self._pool.fetchval(sql, *args)

    async def check_version(self, force: bool = False) -> None:
        """Read ``data_version`` if the last read is older than ``version_check_s``; on change drop the cache."""
        if self.cache is None or self._checking:
            return
        now = time.monotonic()
        if not force and now - self._checked_at < self.settings.tile_version_check_s:
            return
        self._checking = True
        try:
            try:
                version = await self._fetchval(VERSION_SQL)
            except asyncpg.UndefinedTableError:
                log.warning("no data_version table (migration 0003 missing): tile cache disabled")
                self.cache = None
                return
            self._checked_at = time.monotonic()
            if version != self.version:
                self.cache.clear()
                self.generation += 1
                self.version = version
        finally:
            self._checking = False

    async def tile(self, layer: TileLayer, z: int, x: int, y: int) -> bytes:
        """The MVT bytes of one tile (``b""`` when the tile holds no feature)."""
        key: TileKey = (layer.name, z, x, y, False)
        if self.cache is not None:
            await self.check_version()
        cache = self.cache
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit
        generation = self.generation
        data: bytes = await self._fetchval(layer.sql, *layer.params(z, x, y, self.srid, self.rules)) or b""
        if cache is not None and generation == self.generation:
            cache.put(key, data)
        return data

    async def tile_gzip(self, layer: TileLayer, z: int, x: int, y: int) -> tuple[bytes, bool]:
        """The tile gzip-compressed when that is worth it: (bytes, compressed)."""
        generation = self.generation
        data = await self.tile(layer, z, x, y)
        if len(data) < self.settings.tile_gzip_min_bytes:
            return data, False
        key: TileKey = (layer.name, z, x, y, True)
        cache = self.cache
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit, True
        packer = zlib.compressobj(self.settings.tile_gzip_level, zlib.DEFLATED, 31)  # 31: gzip container
        packed = packer.compress(data) + packer.flush()
        if cache is not None and generation == self.generation:
            cache.put(key, packed)
        return packed, True

    def stats(self) -> dict[str, object]:
        """Cache figures for diagnostics."""
        c = self.cache
        return {"cache": c is not None, "tiles": len(c) if c else 0, "bytes": c.nbytes if c else 0,
                "hits": c.hits if c else 0, "misses": c.misses if c else 0, "data_version": self.version}
