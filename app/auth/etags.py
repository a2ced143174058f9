"""ETags and ``If-Match`` of the resources issue 8 adds (users, FAR exemptions), by issue 7's rules.

The format (``"v<version>"``, strong) and the parsing of ``If-Match`` are those of
``app.programme.lifecycle`` for blocks, so that every PATCH-able resource behaves alike: no header → 428,
a tag that is not the current version → 412, ``*`` → any current version.
"""

from __future__ import annotations

from app.errors import PreconditionRequired
from app.programme.lifecycle import etag, parse_if_match

__all__ = ["etag", "if_match"]


def if_match(header: str | None, what: str) -> int | None:
    """The version ``If-Match`` names (None for ``*``; -1 for a tag that names none); 428 without it."""
    try:
        return parse_if_match(header)
    except PreconditionRequired:
        raise PreconditionRequired(f"this change needs an If-Match header with the {what}'s ETag (from its GET), "
                                   "so that it cannot overwrite someone else's change", field="If-Match") from None
