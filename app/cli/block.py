"""``renewal block``: blocks in the programme: status changes (one step at a time), history, deadlines."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.cli.common import AS_OF_HELP, console, database, parse_date, settings_of
from app.settings import Settings

cli = typer.Typer(help="Blocks in the programme: status changes (one step at a time), history, deadlines.",
                  no_args_is_help=True)
_ACTOR = "Who makes the change (default cli:<os user>)."


def _block_write(settings: Settings, code: str, version: int | None, **kwargs: object) -> None:
    """Apply a lifecycle change in one transaction (audited) and print the block as JSON."""
    import dataclasses

    from app.db import audit
    from app.programme import lifecycle

    with database(settings) as engine:
        with engine.begin() as conn:
            lifecycle.lock_block(conn, code, version)
            before = lifecycle.get_block(conn, code)
            record = lifecycle.apply_change(conn, code, expected_version=version, prules=settings.programme,
                                            **kwargs)  # type: ignore[arg-type]
            action = ("reopen" if kwargs.get("reopen") else
                      "acceptance_exception" if kwargs.get("acceptance_exception") else "update")
            audit.record(conn, actor=str(kwargs["actor"]), action=action, entity="block", entity_key=code,
                         before=dataclasses.asdict(before), after=dataclasses.asdict(record))
        print(json.dumps(dataclasses.asdict(record), ensure_ascii=False, indent=2, default=str))


def _actor(actor: str | None) -> str:
    """``cli:<os user>``, and the person named with ``--actor`` when given (recorded, not trusted alone)."""
    from app.db.audit import cli_actor

    return f"{cli_actor()} for {actor}" if actor else cli_actor()


@cli.command("show")
def block_show(ctx: typer.Context, code: Annotated[str, typer.Argument(help="Block code (区块编号).")]) -> None:
    """Print a block's programme attributes and its history as JSON."""
    import dataclasses

    from app.programme import lifecycle

    with database(settings_of(ctx)) as engine:
        with engine.connect() as conn:
            body = {"block": dataclasses.asdict(lifecycle.get_block(conn, code)),
                    "history": [dataclasses.asdict(h) for h in lifecycle.history(conn, code)]}
        print(json.dumps(body, ensure_ascii=False, indent=2, default=str))


@cli.command("status")
def block_status(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Block code (区块编号).")],
    status: Annotated[str, typer.Argument(help="listed, surveyed, planned, in_progress or accepted (one step).")],
    actor: Annotated[str | None, typer.Option(help=_ACTOR)] = None,
    remark: Annotated[str | None, typer.Option(help="备注 (required to go one step back).")] = None,
    date: Annotated[str | None, typer.Option(help="Effective date YYYY-MM-DD (default today).")] = None,
    mode: Annotated[str | None, typer.Option(help="改造路径 (with planned): demolition, sorting, management.")] = None,
    industry: Annotated[str | None, typer.Option(help="产业定位 (with planned).")] = None,
    version: Annotated[int | None, typer.Option(help="Expected block version (refused when it moved).")] = None,
    acceptance_exception: Annotated[bool, typer.Option(
        "--acceptance-exception", help="Accept before the acceptance window opens (2026-10-01 by default): an "
        "administrator's exception, with --remark saying why.")] = False,
) -> None:
    """Move a block one step (listed → surveyed → planned → in_progress → accepted), recorded in its history.
    Acceptance happens in the acceptance window; earlier only with --acceptance-exception and a remark."""
    attrs = {k: v for k, v in (("mode", mode), ("industry", industry)) if v is not None}
    extra = {"acceptance_exception": True, "is_admin": True} if acceptance_exception else {}
    _block_write(settings_of(ctx), code, version, status=status, actor=_actor(actor), remark=remark,
                 changed_on=parse_date(date), **attrs, **extra)


@cli.command("set")
def block_set(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Block code (区块编号).")],
    actor: Annotated[str | None, typer.Option(help=_ACTOR)] = None,
    remark: Annotated[str | None, typer.Option(help="备注.")] = None,
    mode: Annotated[str | None, typer.Option(help="改造路径: demolition, sorting, management.")] = None,
    industry: Annotated[str | None, typer.Option(help="产业定位.")] = None,
    plan_year: Annotated[int | None, typer.Option(help="改造计划年度.")] = None,
    works_completed: Annotated[str | None, typer.Option(help="Works finished on YYYY-MM-DD.")] = None,
    version: Annotated[int | None, typer.Option(help="Expected block version (refused when it moved).")] = None,
) -> None:
    """Change a block's mode, industry, plan year or works date (recorded in its history)."""
    attrs = {k: v for k, v in (("mode", mode), ("industry", industry), ("plan_year", plan_year),
                               ("works_completed_on", parse_date(works_completed))) if v is not None}
    _block_write(settings_of(ctx), code, version, actor=_actor(actor), remark=remark, **attrs)


@cli.command("reopen")
def block_reopen(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="Block code (区块编号).")],
    remark: Annotated[str, typer.Option(help="Why it is reopened (required).")],
    actor: Annotated[str | None, typer.Option(help=_ACTOR)] = None,
    version: Annotated[int | None, typer.Option(help="Expected block version (refused when it moved).")] = None,
) -> None:
    """Reopen an accepted block (back to in_progress): an administrator's act, open to whoever runs the CLI."""
    _block_write(settings_of(ctx), code, version, actor=_actor(actor), remark=remark, reopen=True, is_admin=True)


@cli.command("overdue")
def block_overdue(
    ctx: typer.Context,
    town: Annotated[str | None, typer.Option(help="Only this town (区划代码).")] = None,
    as_of: Annotated[str | None, typer.Option(help=AS_OF_HELP)] = None,
) -> None:
    """List blocks that missed a programme deadline, per town. Exit 1 when any did."""
    import datetime as dt

    from app.programme import lifecycle

    settings = settings_of(ctx)
    day = parse_date(as_of) or dt.date.today()
    with database(settings) as engine:
        with engine.connect() as conn:
            towns = lifecycle.overdue(conn, settings.programme, day, town, tuple(settings.rules.target_statuses))
    for t in towns:
        print(f"{t.town_name} {t.town_code}: {len(t.blocks)} overdue")
        for b in t.blocks:
            steps = "; ".join(f"{s.title} due {s.due} ({s.days_overdue} days)" for s in b.steps)
            print(f"  {b.code} {b.name} [{b.status_at}] {steps}")
    if towns:
        raise typer.Exit(code=1)


@cli.command("seed-sample")
def block_seed_sample(ctx: typer.Context) -> None:
    """Give the sample's blocks a synthetic, deterministic history and its firms baseline years (示例数据)."""
    from app.programme import sample as programme_sample

    with database(settings_of(ctx)) as engine:
        with engine.begin() as conn:
            counts = programme_sample.seed(conn)
        console.print("seeded: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
