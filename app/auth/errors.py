"""Errors of authentication and authorisation, in the one error table's form (status and machine code).

401 and 429 are defined here; 403, 412 and 428 are issue 7's (``app.programme.errors``), re-exported so
that every write path answers them alike.
"""

from __future__ import annotations

from app.errors import RenewalError
from app.programme.errors import Forbidden, PreconditionFailed, PreconditionRequired

__all__ = ["Forbidden", "PreconditionFailed", "PreconditionRequired", "TooManyRequests", "Unauthorized"]


class Unauthorized(RenewalError):
    """No token, or one that is invalid, expired or belongs to a disabled account (answered with 401)."""

    status, code = 401, "Unauthorized"

    def __init__(self, detail: str, *, invalid_token: bool = False) -> None:
        super().__init__(detail, field="Authorization")
        challenge = 'Bearer realm="renewal"' + (', error="invalid_token"' if invalid_token else "")
        self.headers = {"WWW-Authenticate": challenge}


class TooManyRequests(RenewalError):
    """Too many failed logins for this user name or client address within the window (429)."""

    status, code = 429, "TooManyRequests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, field="username")
        self.headers = {"Retry-After": str(max(1, retry_after_s))}
