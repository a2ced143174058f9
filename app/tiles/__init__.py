"""Vector tiles (MVT) of the spatial layers, built in PostGIS and served on a lean asynchronous path.

``layers`` holds the whitelisted tile statements, ``service`` the connection pool, the tile cache and its
invalidation, ``queries`` the map's small JSON statements (cards, search, totals).
"""
