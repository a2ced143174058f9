"""Accounts, roles and tokens (issue 8): who may read the money figures, and who may write what.

Roles: ``viewer`` browses; ``town_editor`` edits the blocks, parcels and reports of its own town;
``reviewer`` (the bureau) records compliance decisions and FAR exemptions and saves joint developments;
``admin`` manages accounts, reopens accepted blocks and runs imports that replace data. Passwords are
hashed with argon2id (:mod:`.passwords`); ``POST /api/auth/token`` hands out short-lived HS256 bearer
tokens (:mod:`.tokens`); the FastAPI dependencies are in :mod:`.deps`; failed logins are rate-limited in
the database (:mod:`.ratelimit`). See docs/security.md.
"""

from __future__ import annotations

from app.models import USER_ROLES

ROLES: tuple[str, ...] = tuple(code for code, _, _ in USER_ROLES)
"""The roles, least to most trusted: viewer, town_editor, reviewer, admin."""
