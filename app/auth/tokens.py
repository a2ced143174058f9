"""Short-lived bearer tokens: HS256 JSON Web Tokens signed with the service's secret.

The secret is ``RENEWAL_AUTH_SECRET`` when set (at least 32 characters; the same on every host and worker),
else a random one created once in ``.data/auth-secret`` (mode 0600) and shared by the processes of this
checkout. A token names the user, its role and town and expires after ``RENEWAL_TOKEN_TTL_S``. Reads
trust a valid token until it expires; writes also look the account up, so disabling an account or
changing its role takes effect on its next write at once.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jwt

from app.auth import ROLES
from app.errors import Unauthorized
from app.settings import PROJECT_ROOT, Settings

ALGORITHM = "HS256"
ISSUER = "renewal"
AUDIENCE = "renewal-api"
SECRET_FILE = PROJECT_ROOT / ".data" / "auth-secret"
"""Where the generated signing key is kept when ``RENEWAL_AUTH_SECRET`` is unset."""
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token speaks for: user name, role and (town editors) town code."""

    username: str
    role: str
    town_code: str | None


@lru_cache
def _file_secret(path: Path) -> str:
    """The key in ``path``, created (random, 0600) by the first process that needs it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
    key = path.read_text().strip()
    if len(key) < MIN_SECRET_LENGTH:  # a half-written file from a concurrent first start: read once more
        key = path.read_text().strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise RuntimeError(f"{path} holds no usable signing key; delete it or set RENEWAL_AUTH_SECRET")
    return key


def signing_key(settings: Settings) -> str:
    """The HS256 key: ``RENEWAL_AUTH_SECRET``, else the generated one in ``.data/auth-secret``."""
    if settings.auth_secret is not None:
        key = settings.auth_secret.get_secret_value()
        if len(key) < MIN_SECRET_LENGTH:
            raise ValueError(f"RENEWAL_AUTH_SECRET must have at least {MIN_SECRET_LENGTH} characters")
        return key
    return _file_secret(SECRET_FILE)


def issue(settings: Settings, principal: Principal, *, ttl_s: int | None = None) -> tuple[str, int]:
    """A signed token for ``principal`` and its lifetime in seconds."""
    ttl = ttl_s if ttl_s is not None else settings.token_ttl_s
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": principal.username, "role": principal.role, "town": principal.town_code,
              "iat": now, "nbf": now - dt.timedelta(seconds=5), "exp": now + dt.timedelta(seconds=ttl),
              "iss": ISSUER, "aud": AUDIENCE, "jti": secrets.token_hex(8)}
    return jwt.encode(claims, signing_key(settings), algorithm=ALGORITHM), ttl


def decode(settings: Settings, token: str) -> Principal:
    """The principal of a valid token; ``Unauthorized`` when it is malformed, forged, expired or odd."""
    if len(token) > 4096:
        raise Unauthorized("the token is not valid",
                           zh="令牌无效", invalid_token=True)
    try:
        claims = jwt.decode(token, signing_key(settings), algorithms=[ALGORITHM], audience=AUDIENCE,
                            issuer=ISSUER, options={"require": ["sub", "exp", "iat", "role"]}, leeway=5)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired; log in again",
                           zh="令牌已过期，请重新登录", invalid_token=True) from None
    except jwt.PyJWTError:
        raise Unauthorized("the token is not valid",
                           zh="令牌无效", invalid_token=True) from None
    sub, role, town = claims.get("sub"), claims.get("role"), claims.get("town")
    if not isinstance(sub, str) or role not in ROLES or not (town is None or isinstance(town, str)):
        raise Unauthorized("the token is not valid",
                           zh="令牌无效", invalid_token=True)
    return Principal(sub, str(role), town)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None without one.

    Another scheme, or ``Bearer`` without a token, is an invalid credential (401), not an absent one.
    """
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send the token as Authorization: Bearer <token>",
                           zh="请以 Authorization: Bearer <令牌> 发送令牌", invalid_token=True)
    return token.strip()
