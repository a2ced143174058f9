"""Accounts in the database: create, read, change, each change audited in the same transaction.

The API (``/api/users``, admins only) and the CLI (``renewal user ...``) call these functions; the caller
opens the transaction. A change names the version it was based on (``if_match``, the ETag): the row is
locked, the version compared (412 when it moved), then updated; the trigger of migration 0006 bumps the
version. The command line passes no version: an operator at the server changes the current row.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, text

from app.auth import ROLES
from app.auth.passwords import hash_password
from app.db import audit
from app.errors import Conflict, InvalidParameter, NotFound, PreconditionFailed

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@-]{0,63}$")
"""User names: lower-case letters, digits and ``_ . @ -``, at most 64 characters (the CHECK of users)."""

_COLUMNS = "id, username, role, town_code, disabled, version, created_at, updated_at"
_GET = text(f"SELECT {_COLUMNS} FROM users WHERE username = :username")  # noqa: S608 (a module constant)
_GET_FOR_UPDATE = text(f"SELECT {_COLUMNS} FROM users WHERE username = :username FOR UPDATE")  # noqa: S608
_HASH = text(f"SELECT {_COLUMNS}, password_hash FROM users WHERE username = :username")  # noqa: S608
_LIST = text(f"SELECT {_COLUMNS} FROM users ORDER BY username")  # noqa: S608
_INSERT = text(f"""
INSERT INTO users (username, password_hash, role, town_code)
VALUES (:username, :password_hash, :role, :town_code)
ON CONFLICT (username) DO NOTHING
RETURNING {_COLUMNS}
""")  # noqa: S608
_UPDATE = text(f"""
UPDATE users SET role = :role, town_code = :town_code, disabled = :disabled,
                 password_hash = COALESCE(:password_hash, password_hash), updated_at = now()
WHERE id = :id
RETURNING {_COLUMNS}
""")  # noqa: S608
_TOWN_EXISTS = text("SELECT EXISTS (SELECT 1 FROM towns WHERE code = :code)")
_OTHER_ADMINS = text("SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> :id")


@dataclass(frozen=True, slots=True)
class UserRecord:
    """An account as the service shows it (never its password hash)."""

    id: int
    username: str
    role: str
    town_code: str | None
    disabled: bool
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    def public(self) -> dict[str, Any]:
        """The account as JSON-ready data (no id, no hash)."""
        out = asdict(self)
        out.pop("id")
        return out


def normalise(username: str) -> str:
    """A user name as stored: trimmed, lower case."""
    return username.strip().lower()


def _record(row: Any) -> UserRecord:
    """A row of ``_COLUMNS`` as a record."""
    return UserRecord(int(row.id), row.username, row.role, row.town_code, bool(row.disabled), int(row.version),
                      row.created_at, row.updated_at)


def get(conn: Connection, username: str) -> UserRecord | None:
    """The account called ``username``, or None."""
    row = conn.execute(_GET, {"username": normalise(username)}).first()
    return _record(row) if row is not None else None


def get_with_hash(conn: Connection, username: str) -> tuple[UserRecord, str] | None:
    """The account and its password hash (for a login only), or None."""
    row = conn.execute(_HASH, {"username": normalise(username)}).first()
    return (_record(row), str(row.password_hash)) if row is not None else None


def require(conn: Connection, username: str) -> UserRecord:
    """The account called ``username``, or ``NotFound``."""
    found = get(conn, username)
    if found is None:
        raise NotFound(f"no user called {normalise(username)!r}",
                       zh=f"没有名为 {normalise(username)!r} 的用户", field="username")
    return found


def list_all(conn: Connection) -> list[UserRecord]:
    """Every account, by name."""
    return [_record(r) for r in conn.execute(_LIST)]


def _check_role(conn: Connection, role: str, town_code: str | None) -> None:
    """A known role, with a town (that exists) exactly when it is a town editor."""
    if role not in ROLES:
        raise InvalidParameter(f"unknown role {role!r}; roles: {', '.join(ROLES)}",
                               zh=f"未知的角色 {role!r}；可选：{'、'.join(ROLES)}", field="role")
    if role == "town_editor":
        if not town_code:
            raise InvalidParameter("a town editor needs the code of its town (区划代码)",
                                   zh="镇街编辑需要其镇街的区划代码", field="town_code")
        if not conn.execute(_TOWN_EXISTS, {"code": town_code}).scalar_one():
            raise InvalidParameter(f"no town with code {town_code!r}",
                                   zh=f"没有区划代码为 {town_code!r} 的镇街", field="town_code")
    elif town_code is not None:
        raise InvalidParameter(f"only a town editor has a town; a {role} has none",
                               zh=f"只有镇街编辑才属于某个镇街，{role} 不属于任何镇街", field="town_code")


def create(conn: Connection, *, actor: str, username: str, password: str, role: str,
           town_code: str | None = None) -> UserRecord:
    """Create an account (audited); ``Conflict`` when the name is taken."""
    name = normalise(username)
    if not USERNAME.match(name):
        raise InvalidParameter("a user name has 1 to 64 lower-case letters, digits or _ . @ - and starts with "
                               "a letter or digit",
                               zh="用户名为 1 到 64 个小写字母、数字或 _ . @ -，并以字母或数字开头", field="username")
    _check_role(conn, role, town_code)
    row = conn.execute(_INSERT, {"username": name, "password_hash": hash_password(password), "role": role,
                                 "town_code": town_code}).first()
    if row is None:
        raise Conflict(f"a user called {name!r} already exists",
                       zh=f"已有名为 {name!r} 的用户", field="username")
    created = _record(row)
    audit.record(conn, actor=actor, action="create", entity="user", entity_key=name, before=None,
                 after=created.public())
    return created


KEEP: Any = object()
"""``town_code`` of :func:`update` when the town is not changed (it follows the role)."""


def update(conn: Connection, *, actor: str, username: str, if_match: int | None, role: str | None = None,
           town_code: str | None = KEEP, disabled: bool | None = None,
           password: str | None = None) -> UserRecord:
    """Change an account (audited): role and town, disabled, password. ``if_match`` is the version the
    change was based on (None: the current one, for the CLI); ``PreconditionFailed`` when it moved.

    Giving a role other than town editor drops the town; the last active admin cannot be demoted or disabled.
    """
    current = conn.execute(_GET_FOR_UPDATE, {"username": normalise(username)}).first()
    if current is None:
        raise NotFound(f"no user called {normalise(username)!r}",
                       zh=f"没有名为 {normalise(username)!r} 的用户", field="username")
    before = _record(current)
    if if_match is not None and if_match != before.version:
        raise PreconditionFailed(f"user {before.username!r} is at version {before.version}, not {if_match}: "
                                 "it was changed meanwhile; read it again",
                                 zh=f"用户 {before.username!r} 的版本是 {before.version}，而不是 {if_match}：已被他人"
                                    "修改，请重新读取", field="If-Match")
    new_role = role if role is not None else before.role
    if town_code is KEEP:
        new_town = before.town_code if new_role == "town_editor" else None
    else:
        new_town = town_code
    _check_role(conn, new_role, new_town)
    new_disabled = before.disabled if disabled is None else disabled
    if before.role == "admin" and not before.disabled and (new_role != "admin" or new_disabled):
        if not conn.execute(_OTHER_ADMINS, {"id": before.id}).scalar_one():
            raise Conflict("this is the last active admin: make another admin first",
                           zh="这是最后一个有效的管理员：请先设置另一个管理员", field="role")
    row = conn.execute(_UPDATE, {
        "id": before.id, "role": new_role, "town_code": new_town, "disabled": new_disabled,
        "password_hash": hash_password(password) if password is not None else None,
    }).one()
    after = _record(row)
    changes = after.public() | ({"password_changed": True} if password is not None else {})
    audit.record(conn, actor=actor, action="update", entity="user", entity_key=after.username,
                 before=before.public(), after=changes)
    return after
