"""``renewal user``: accounts: add, disable, enable, set-role, passwd, list; every change audited as the OS user."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from app.cli.common import console, database, settings_of
from app.settings import Settings

cli = typer.Typer(help="Accounts: add, disable, enable, set-role, passwd, list. Every change is audited "
                  "as cli:<os user>.", no_args_is_help=True)
_ROLE_HELP = "viewer, town_editor (with --town), reviewer or admin."


def _new_password(from_stdin: bool) -> str:
    """A password from the first line of standard input, or asked twice at the terminal (not echoed)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _change_user(settings: Settings, username: str, *, role: str | None = None, town: str | None = None,
                 disabled: bool | None = None, password: str | None = None) -> None:
    """Apply a change to an account (audited as cli:<os user>) and say what it is now."""
    from app.auth import users
    from app.db.audit import cli_actor

    with database(settings) as engine:
        with engine.begin() as conn:
            user = users.update(conn, actor=cli_actor(), username=username, if_match=None, role=role,
                                town_code=town if town is not None else users.KEEP, disabled=disabled,
                                password=password)
        town = f" of town {user.town_code}" if user.town_code else ""
        console.print(f"{user.username}: {user.role}{town}{', disabled' if user.disabled else ''} (v{user.version})")


@cli.command("add")
def user_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name (lower-case letters, digits, _ . @ -).")],
    role: Annotated[str, typer.Option(help=_ROLE_HELP)],
    town: Annotated[str | None, typer.Option(help="区划代码 of the town a town editor edits.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first "
                                                                           "line of standard input.")] = False,
) -> None:
    """Add an account; the password is asked twice (or read with --password-stdin) and hashed with argon2id."""
    from app.auth import users
    from app.db.audit import cli_actor

    password = _new_password(password_stdin)
    with database(settings_of(ctx)) as engine:
        with engine.begin() as conn:
            user = users.create(conn, actor=cli_actor(), username=username, password=password, role=role,
                                town_code=town)
        console.print(f"added {user.username}: {user.role}" + (f" of town {user.town_code}" if user.town_code else ""))


@cli.command("disable")
def user_disable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Disable an account: it can no longer log in, and its tokens no longer write."""
    _change_user(settings_of(ctx), username, disabled=True)


@cli.command("enable")
def user_enable(ctx: typer.Context, username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Enable a disabled account again."""
    _change_user(settings_of(ctx), username, disabled=False)


@cli.command("set-role")
def user_set_role(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Argument(help=_ROLE_HELP)],
    town: Annotated[str | None, typer.Option(help="区划代码 (for town_editor).")] = None,
) -> None:
    """Change an account's role (and town, for a town editor)."""
    _change_user(settings_of(ctx), username, role=role, town=town)


@cli.command("passwd")
def user_passwd(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first "
                                                                           "line of standard input.")] = False,
) -> None:
    """Set a new password for an account."""
    _change_user(settings_of(ctx), username, password=_new_password(password_stdin))


@cli.command("list")
def user_list(ctx: typer.Context,
              as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout instead of a table.")] = False
              ) -> None:
    """List the accounts: name, role, town, state, version."""
    from rich.console import Console
    from rich.table import Table

    from app.auth import users

    with database(settings_of(ctx)) as engine:
        with engine.connect() as conn:
            rows = users.list_all(conn)
    if as_json:
        print(json.dumps([u.public() for u in rows], ensure_ascii=False, indent=2, default=str))
        return
    table = Table("user", "role", "town", "state", "version")
    for u in rows:
        table.add_row(u.username, u.role, u.town_code or "", "disabled" if u.disabled else "active", str(u.version))
    Console(soft_wrap=True).print(table)
