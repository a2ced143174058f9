"""Log in and who am I: ``POST /api/auth/token`` (OAuth2 password form) and ``GET /api/auth/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from app.api.deps import CurrentUser, SettingsDep, get_engine
from app.api.schemas import TokenOut, UserPublic, errors
from app.auth import ratelimit, tokens, users
from app.auth.passwords import verify_password
from app.errors import Unauthorized

router = APIRouter(prefix="/api/auth", tags=["accounts"])


@router.post("/token", response_model=TokenOut, summary="Log in: a short-lived bearer token",
             responses=errors(401, 429))
def token(request: Request, response: Response, form: Annotated[OAuth2PasswordRequestForm, Depends()],
          settings: SettingsDep) -> TokenOut:
    """Check user name and password (argon2id) and answer a token valid for ``RENEWAL_TOKEN_TTL_S`` seconds.

    Failed attempts are counted per user name and per client address: past the limit within the window,
    attempts get 429 with ``Retry-After`` before the password is even checked.
    """
    engine = get_engine(request)
    name = users.normalise(form.username)[:64]
    address = request.client.host if request.client else None
    with engine.begin() as conn:
        ratelimit.check(conn, settings, name, address)
        found = users.get_with_hash(conn, name) if users.USERNAME.match(name) else None
    if not verify_password(found[1] if found else None, form.password):  # as slow for an unknown name
        with engine.begin() as conn:
            ratelimit.failed(conn, settings, name, address)
        raise Unauthorized("wrong user name or password", zh="用户名或密码错误")
    assert found is not None
    user = found[0]
    if user.disabled:
        raise Unauthorized("the account is disabled", zh="账号已停用")
    with engine.begin() as conn:
        ratelimit.succeeded(conn, name)
    access, ttl = tokens.issue(settings, tokens.Principal(user.username, user.role, user.town_code))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenOut(access_token=access, token_type="bearer", expires_in=ttl)


@router.get("/me", response_model=UserPublic, summary="The logged-in account", responses=errors(401))
def me(user: CurrentUser) -> UserPublic:
    """User name, role, town (town editors) and state of the account behind the token."""
    return UserPublic.of(user)
