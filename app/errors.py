"""Domain errors, one table: each carries its HTTP status and a machine code. No FastAPI here."""

from __future__ import annotations


class RenewalError(Exception):
    """Base of all domain errors; ``field`` names the input at fault when there is one."""

    status = 400
    code = "BadRequest"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def body(self) -> dict[str, str | None]:
        """The JSON error body shared by the API and the CLI."""
        return {"code": self.code, "detail": self.detail, "field": self.field}


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
