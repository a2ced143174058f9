"""Shared FastAPI dependencies, declared once as ``Annotated`` aliases.

- ``ConnectionDep``, ``SettingsDep``, ``RulesDep``, ``ProgrammeRulesDep``: a SQLAlchemy connection for the
  request, and the settings (and their rule groups) the application was built with.
- ``OptionalPrincipal``: who a valid bearer token speaks for, or None without a token (401 for a bad one).
  Reads use it: the money figures are shown to any logged-in role (see :mod:`app.api.redact`).
- ``CurrentUser``: the account behind the token, read from the database (401 without a token, with a bad
  one, or for a disabled or deleted account). Writes use it, so a role change applies at once.
- ``require_roles(...)``: ``CurrentUser`` with one of the roles, else 403.
- ``require_town_editor_for(param)``: admin, or the town editor of the town named by a path or query
  parameter, else 403; :func:`check_town` is the same rule for a town read from the resource itself.
- ``BlockEditor``: the editor of the town of the block in the path (``code``), a reviewer or an admin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Connection, Engine, text

from app.auth import ROLES, tokens, users
from app.auth.tokens import Principal
from app.auth.users import UserRecord
from app.errors import Forbidden, NotFound, Unauthorized
from app.planning.config import PlanningRules
from app.programme.config import ProgrammeRules
from app.settings import Settings


def get_engine(request: Request) -> Engine:
    """The application's engine."""
    engine: Engine = request.app.state.engine
    return engine


def get_connection(request: Request) -> Iterator[Connection]:
    """A connection for one request, returned to the pool afterwards."""
    with get_engine(request).connect() as conn:
        yield conn


def get_app_settings(request: Request) -> Settings:
    """The settings the application was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_rules(request: Request) -> PlanningRules:
    """The planning rules of the application's settings."""
    return get_app_settings(request).rules


def get_programme_rules(request: Request) -> ProgrammeRules:
    """The programme rules of the application's settings."""
    return get_app_settings(request).programme


ConnectionDep = Annotated[Connection, Depends(get_connection)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RulesDep = Annotated[PlanningRules, Depends(get_rules)]
ProgrammeRulesDep = Annotated[ProgrammeRules, Depends(get_programme_rules)]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False,
                                     description="Bearer token from POST /api/auth/token.")
STATE_KEY = "principal"
"""Where :class:`app.api.middleware.ReadGate` leaves the decoded principal in the request state."""


def principal_of(request: Request) -> Principal | None:
    """The principal of the request's bearer token (decoded once per request), or None without one."""
    state = request.scope.setdefault("state", {})
    if STATE_KEY in state:
        found: Principal | None = state[STATE_KEY]
        return found
    token = tokens.bearer_token(request.headers.get("authorization"))
    found = tokens.decode(get_app_settings(request), token) if token is not None else None
    state[STATE_KEY] = found
    return found


async def optional_principal(request: Request, _token: Annotated[str | None, Security(oauth2_scheme)]
                             ) -> Principal | None:
    """Who the token speaks for, or None when there is no token; 401 for an invalid or expired one.

    ``async`` only so that FastAPI calls it on the event loop: it does no I/O, and a sync dependency would
    cost every request a hand-over to the thread pool."""
    return principal_of(request)


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def current_user(request: Request, principal: OptionalPrincipal) -> UserRecord:
    """The account behind the token, as it is now in the database; 401 when there is none or it is disabled."""
    if principal is None:
        raise Unauthorized("log in: this needs an account (POST /api/auth/token)",
                           zh="请登录：此操作需要账号（POST /api/auth/token）")
    with get_engine(request).connect() as conn:
        user = users.get(conn, principal.username)
    if user is None or user.disabled:
        raise Unauthorized("the account is disabled or no longer exists",
                           zh="账号已停用或已不存在", invalid_token=True)
    return user


CurrentUser = Annotated[UserRecord, Depends(current_user)]


def require_roles(*roles: str) -> Callable[[UserRecord], UserRecord]:
    """A dependency: the current user, when it has one of ``roles`` (else 403)."""
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise ValueError(f"unknown roles {unknown}; roles: {ROLES}")

    def dependency(user: CurrentUser) -> UserRecord:
        if user.role not in roles:
            raise Forbidden(f"this needs the role {' or '.join(roles)}; {user.username} is a {user.role}",
                            zh=f"此操作需要角色 {'或'.join(roles)}；{user.username} 的角色是 {user.role}",
                            field="role")
        return user

    dependency.__doc__ = f"The current user when it is a {' or '.join(roles)} (else 403)."
    return dependency


def check_town(user: UserRecord, town_code: str | None, *, also: tuple[str, ...] = ("admin",)) -> None:
    """Allow ``user`` to edit something of ``town_code``: a role in ``also``, or that town's editor (else 403)."""
    if user.role in also:
        return
    if user.role == "town_editor":
        if town_code is not None and user.town_code == town_code:
            return
        raise Forbidden(f"{user.username} edits town {user.town_code} only, not {town_code}",
                        zh=f"{user.username} 只能编辑镇街 {user.town_code}，不能编辑 {town_code}", field="town_code")
    raise Forbidden(f"this needs the town's editor{' or ' + ' or '.join(also) if also else ''}; "
                    f"{user.username} is a {user.role}",
                    zh=f"此操作需要本镇街的编辑{'或' + '或'.join(also) if also else ''}；{user.username} 的角色是 "
                       f"{user.role}", field="role")


def require_town_editor_for(param: str = "town") -> Callable[[Request, UserRecord], UserRecord]:
    """A dependency: the current user when it is an admin or the editor of the town named by the path or
    query parameter ``param`` (else 403)."""

    def dependency(request: Request, user: CurrentUser) -> UserRecord:
        town = request.path_params.get(param) or request.query_params.get(param)
        check_town(user, town)
        return user

    dependency.__doc__ = f"The current user when it may edit the town named by {param!r} (else 403)."
    return dependency


_BLOCK_TOWN = text("SELECT t.code FROM blocks b JOIN towns t ON t.id = b.town_id WHERE b.code = :code")


def block_editor(request: Request, user: CurrentUser) -> UserRecord:
    """The current user when it may change the block named by the path parameter ``code``: the editor of the
    block's town, a reviewer or an admin (403 otherwise, 404 for an unknown block)."""
    code = request.path_params.get("code")
    with get_engine(request).connect() as conn:
        town = conn.execute(_BLOCK_TOWN, {"code": code}).scalar()
    if town is None:
        raise NotFound(f"no block with code {code!r}",
                       zh=f"没有编号为 {code!r} 的区块", field="code")
    check_town(user, str(town), also=("reviewer", "admin"))
    return user


BlockEditor = Annotated[UserRecord, Depends(block_editor)]
AdminUser = Annotated[UserRecord, Depends(require_roles("admin"))]
ReviewerUser = Annotated[UserRecord, Depends(require_roles("reviewer"))]
ReviewerOrAdmin = Annotated[UserRecord, Depends(require_roles("reviewer", "admin"))]
EditorOrAdmin = Annotated[UserRecord, Depends(require_roles("town_editor", "admin"))]
