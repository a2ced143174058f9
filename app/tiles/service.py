"""The tile service: one statement per layer on the read pool, a bounded tile cache, and the data version.

Tiles are bytes from ``ST_AsMVT`` handed straight to the response; nothing is decoded or re-encoded in
Python. The ``data_version`` table, bumped by statement-level triggers on every change to towns, blocks,
parcels and buildings (migration 0003), is read at most every ``version_check_s`` seconds: its value goes
into the tile URLs that TileJSON publishes (so browsers and proxies may keep a versioned tile for good) and
into ETags, and when it moves the in-process cache (LRU, bounded in bytes) is dropped. A tile computed while
the version moved is not stored, so a stale tile never outlives one check.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections import OrderedDict

import asyncpg

from app.db import pool as read_pool
from app.planning.config import PlanningRules
from app.settings import TileSettings
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

    def __init__(self, pool: asyncpg.Pool, settings: TileSettings, rules: PlanningRules, srid: int) -> None:
        self.pool = pool
        self.settings = settings
        self.rules = rules
        self.srid = srid
        self.cache = TileCache(int(settings.cache_mb * 1024 * 1024)) if settings.cache_mb > 0 else None
        self.version: int | None = None
        self.generation = 0
        self._checked_at = float("-inf")

    @property
    def tag(self) -> str | None:
        """``<data version>-<rule version>``: what a tile's content depends on (None before the first read)."""
        return None if self.version is None else f"{self.version}-{self.rules.rule_version}"

    async def check_version(self, force: bool = False) -> None:
        """Read ``data_version`` if the last read is older than ``version_check_s``; on change drop the cache."""
        now = time.monotonic()
        if not force and now - self._checked_at < self.settings.version_check_s:
            return
        self._checked_at = now  # concurrent callers in the same second do not read it again
        try:
            version = await read_pool.fetchval(self.pool, VERSION_SQL)
        except asyncpg.UndefinedTableError:
            log.warning("no data_version table (migration 0003 missing): tiles carry no version")
            return
        except BaseException:
            self._checked_at = float("-inf")  # read again next time
            raise
        if version != self.version:
            if self.cache is not None:
                self.cache.clear()
            self.generation += 1
            self.version = version

    async def tile(self, layer: TileLayer, z: int, x: int, y: int) -> bytes:
        """The MVT bytes of one tile (``b""`` when the tile holds no feature)."""
        await self.check_version()
        key: TileKey = (layer.name, z, x, y, False)
        cache = self.cache
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit
        generation = self.generation
        data: bytes = await read_pool.fetchval(self.pool, layer.sql,
                                               *layer.params(z, x, y, self.srid, self.rules)) or b""
        if cache is not None and generation == self.generation:
            cache.put(key, data)
        return data

    async def tile_gzip(self, layer: TileLayer, z: int, x: int, y: int) -> tuple[bytes, bool]:
        """The tile gzip-compressed when that is worth it: (bytes, compressed)."""
        generation = self.generation
        data = await self.tile(layer, z, x, y)
        if len(data) < self.settings.gzip_min_bytes:
            return data, False
        key: TileKey = (layer.name, z, x, y, True)
        cache = self.cache
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit, True
        packer = zlib.compressobj(self.settings.gzip_level, zlib.DEFLATED, 31)  # 31: gzip container
        packed = packer.compress(data) + packer.flush()
        if cache is not None and generation == self.generation:
            cache.put(key, packed)
        return packed, True

    def stats(self) -> dict[str, object]:
        """Cache figures for diagnostics."""
        c = self.cache
        return {"cache": c is not None, "tiles": len(c) if c else 0, "bytes": c.nbytes if c else 0,
                "hits": c.hits if c else 0, "misses": c.misses if c else 0, "data_version": self.version}
