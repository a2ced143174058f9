"""Login rate limit, kept in the database so that every worker and host counts the same failures.

A failed login adds one row for the user name and one for the client address (``login_failures``). Before
a password is even checked, a name with ``login_max_failures`` failures, or an address with
``login_max_failures_per_ip``, within the last ``login_window_s`` seconds gets 429 with ``Retry-After``.
A successful login clears the name's failures. Rows older than the window are pruned as failures come in.
"""

from __future__ import annotations

import math

from sqlalchemy import Connection, text

from app.errors import TooManyRequests
from app.settings import Settings

_RECENT = text("""
SELECT key, count(*) AS n, EXTRACT(EPOCH FROM min(at) + make_interval(secs => :window) - now()) AS wait_s
FROM login_failures
WHERE key = ANY(CAST(:keys AS text[])) AND at > now() - make_interval(secs => :window)
GROUP BY key
""")
_ADD = text("INSERT INTO login_failures (key) SELECT unnest(CAST(:keys AS text[]))")
_PRUNE = text("DELETE FROM login_failures WHERE at < now() - make_interval(secs => :window)")
_CLEAR = text("DELETE FROM login_failures WHERE key = :key")


def _keys(username: str, address: str | None) -> tuple[str, str]:
    """The counters a login attempt touches."""
    return f"user:{username}", f"ip:{address or 'unknown'}"


def check(conn: Connection, settings: Settings, username: str, address: str | None) -> None:
    """``TooManyRequests`` when the name or the address has used up its failures in the window."""
    user_key, ip_key = _keys(username, address)
    limits = {user_key: settings.login_max_failures, ip_key: settings.login_max_failures_per_ip}
    rows = conn.execute(_RECENT, {"keys": [user_key, ip_key], "window": settings.login_window_s}).all()
    for key, n, wait_s in rows:
        if n >= limits[key]:
            what = "this user name" if key == user_key else "this address"
            raise TooManyRequests(f"too many failed logins for {what}; try again later",
                                  zh=f"{'该用户名' if key == user_key else '该地址'}登录失败次数过多，请稍后再试",
                                  retry_after_s=math.ceil(float(wait_s or 1)))


def failed(conn: Connection, settings: Settings, username: str, address: str | None) -> None:
    """Count a failed login (the caller commits it even though the login is refused)."""
    conn.execute(_PRUNE, {"window": settings.login_window_s})
    conn.execute(_ADD, {"keys": list(_keys(username, address))})


def succeeded(conn: Connection, username: str) -> None:
    """Forget the name's failures after a successful login."""
    conn.execute(_CLEAR, {"key": f"user:{username}"})
