"""Domain errors, one table: each carries its HTTP status, a machine code and its sentence in English and
Chinese. No FastAPI here."""

from __future__ import annotations

from typing import Any, Literal

Language = Literal["zh", "en"]
"""The languages the API and the CLI answer in."""

CONTENT_LANGUAGE: dict[Language, str] = {"zh": "zh-CN", "en": "en"}
"""The ``Content-Language`` of an answer in each language."""


def error_body(code: str, detail: str, field: str | None = None, *, zh: str | None = None,
               lang: Language = "en") -> dict[str, Any]:
    """The JSON error body of the API: a machine code, the sentence in ``lang`` (English when there is no
    Chinese), the input at fault, and ``messages``: the sentence in each language it exists in (``en`` always)."""
    messages = {"zh": zh, "en": detail} if zh else {"en": detail}
    return {"code": code, "detail": messages.get(lang, detail), "field": field, "messages": messages}


class RenewalError(Exception):
    """Base of all domain errors: ``detail`` in English, ``zh`` in Chinese (every raise site gives both;
    ``tests/test_messages_zh.py`` checks), ``field`` names the input at fault when there is one."""

    status = 400
    code = "BadRequest"

    def __init__(self, detail: str, *, zh: str | None = None, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.zh = zh
        self.field = field

    def text(self, lang: Language) -> str:
        """The sentence in ``lang`` (English when there is no Chinese)."""
        return self.zh or self.detail if lang == "zh" else self.detail

    def body(self, lang: Language = "en") -> dict[str, Any]:
        """The JSON error body shared by the API and the CLI."""
        return error_body(self.code, self.detail, self.field, zh=self.zh, lang=lang)


class InvalidParameter(RenewalError):
    """A parameter or field has a value that cannot be used."""

    status, code = 400, "InvalidParameterValue"


class NotFound(RenewalError):
    """No resource with that code or id."""

    status, code = 404, "NotFound"


class Conflict(RenewalError):
    """The change conflicts with existing data (duplicate code, resource in use)."""

    status, code = 409, "Conflict"


class NotConnected(RenewalError):
    """Parcels to merge do not form one connected piece (joint development)."""

    status, code = 422, "NotConnected"


class InvalidFile(RenewalError):
    """An uploaded or imported file cannot be read or does not fit the layer."""

    status, code = 422, "InvalidFile"


class DatabaseUnavailable(RenewalError):
    """The database does not answer."""

    status, code = 503, "DatabaseUnavailable"


class TransitionNotAllowed(Conflict):
    """A status change the programme's steps do not allow (skipping a step, changing an accepted block)."""

    status, code = 409, "TransitionNotAllowed"


class Forbidden(RenewalError):
    """The change needs a role the caller does not have (reopening an accepted block needs an admin)."""

    status, code = 403, "Forbidden"


class PreconditionRequired(RenewalError):
    """A write without ``If-Match``: the caller must say which version it changes."""

    status, code = 428, "PreconditionRequired"


class PreconditionFailed(RenewalError):
    """``If-Match`` names a version that is no longer current: someone else changed the block first."""

    status, code = 412, "PreconditionFailed"


class InvalidChange(RenewalError):
    """A change that is well-formed but cannot be applied (a date before the last one, no remark...)."""

    status, code = 422, "InvalidChange"


class Unauthorized(RenewalError):
    """No token, or one that is invalid, expired or belongs to a disabled account (answered with 401)."""

    status, code = 401, "Unauthorized"

    def __init__(self, detail: str, *, zh: str | None = None, invalid_token: bool = False) -> None:
        super().__init__(detail, zh=zh, field="Authorization")
        challenge = 'Bearer realm="renewal"' + (', error="invalid_token"' if invalid_token else "")
        self.headers = {"WWW-Authenticate": challenge}


class TooManyRequests(RenewalError):
    """Too many failed logins for this user name or client address within the window (429)."""

    status, code = 429, "TooManyRequests"

    def __init__(self, detail: str, *, zh: str | None = None, retry_after_s: int) -> None:
        super().__init__(detail, zh=zh, field="username")
        self.headers = {"Retry-After": str(max(1, retry_after_s))}
