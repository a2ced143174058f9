"""Errors of the programme's write paths, in the one error table's form (status and machine code).

They subclass :class:`app.errors.RenewalError`, so the API's single handler turns them into the JSON error
body; they live here rather than in ``app/errors.py`` only because that file is shared (issue 8 may move
them there).
"""

from __future__ import annotations

from app.errors import Conflict, RenewalError


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
