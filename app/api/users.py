"""Accounts, for admins: list, read (with ETag), create, and change with ``If-Match`` (``PATCH``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response
from sqlalchemy import Engine

from app.api.deps import AdminUser, get_engine
from app.api.schemas import UserCreate, UserPublic, UserUpdate, errors
from app.auth import users
from app.programme.lifecycle import etag, if_match

router = APIRouter(prefix="/api/users", tags=["accounts"])
EngineDep = Annotated[Engine, Depends(get_engine)]
Username = Annotated[str, Path(min_length=1, max_length=64, description="User name.")]


@router.get("", response_model=list[UserPublic], summary="All accounts (admins)", responses=errors(401, 403))
def list_users(_admin: AdminUser, engine: EngineDep) -> list[UserPublic]:
    """Every account by name, with role, town and state."""
    with engine.connect() as conn:
        return [UserPublic.of(u) for u in users.list_all(conn)]


@router.get("/{username}", response_model=UserPublic, summary="One account (admins); ETag = its version",
            responses=errors(401, 403, 404))
def get_user(_admin: AdminUser, engine: EngineDep, username: Username, response: Response) -> UserPublic:
    """The account, with its ETag for a later ``PATCH``."""
    with engine.connect() as conn:
        user = users.require(conn, username)
    response.headers["ETag"] = etag(user.version)
    return UserPublic.of(user)


@router.post("", response_model=UserPublic, status_code=201, summary="Create an account (admins)",
             responses=errors(400, 401, 403, 409))
def create_user(admin: AdminUser, engine: EngineDep, body: UserCreate, response: Response) -> UserPublic:
    """Create the account (password hashed with argon2id); audited."""
    with engine.begin() as conn:
        user = users.create(conn, actor=admin.username, username=body.username, password=body.password,
                            role=body.role, town_code=body.town_code)
    response.headers["ETag"] = etag(user.version)
    response.headers["Location"] = f"/api/users/{user.username}"
    return UserPublic.of(user)


@router.patch("/{username}", response_model=UserPublic, summary="Change an account (admins; If-Match required)",
              responses=errors(400, 401, 403, 404, 409, 412, 428))
def update_user(
    admin: AdminUser,
    engine: EngineDep,
    username: Username,
    body: UserUpdate,
    response: Response,
    if_match_header: Annotated[str | None, Header(alias="If-Match", description="The ETag from GET, e.g. \"v3\".")
                               ] = None,
) -> UserPublic:
    """Change role and town, disable or enable, or set a new password; audited. 428 without ``If-Match``,
    412 when the account changed since it was read."""
    expected = if_match(if_match_header, "account")
    changes = body.model_dump(exclude_unset=True)
    with engine.begin() as conn:
        user = users.update(conn, actor=admin.username, username=username, if_match=expected,
                            role=changes.get("role"), disabled=changes.get("disabled"),
                            password=changes.get("password"),
                            town_code=changes["town_code"] if "town_code" in changes else users.KEEP)
    response.headers["ETag"] = etag(user.version)
    return UserPublic.of(user)
