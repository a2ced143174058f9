"""``renewal joint``: joint developments (联合开发): create (or preview), show and list."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.cli.common import database, fail, settings_of

cli = typer.Typer(help="Joint developments (联合开发): merge parcels of several holders.", no_args_is_help=True)


def _member(spec: str) -> tuple[str, float, float | None]:
    """Parse ``OWNER:SHARE_PCT[:PLANNED_M2]``."""
    parts = spec.rsplit(":", 2) if spec.count(":") >= 2 else spec.rsplit(":", 1)
    try:
        owner, share = parts[0], float(parts[1])
        planned = float(parts[2]) if len(parts) == 3 else None
    except (IndexError, ValueError):
        raise typer.BadParameter(f"{spec!r}: expected OWNER:SHARE_PCT[:PLANNED_M2]", param_hint="--member") from None
    return owner, share, planned


@cli.command("create")
def joint_create(
    ctx: typer.Context,
    parcel: Annotated[list[str], typer.Option("--parcel", "-p", help="Parcel code (宗地编号); repeat, at least 2.")],
    member: Annotated[list[str], typer.Option("--member", "-m", help="OWNER:SHARE_PCT[:PLANNED_M2]; repeat.")],
    name: Annotated[str | None, typer.Option(help="Project name (项目名称).")] = None,
    p50: Annotated[float | None, typer.Option(help="50-year land price from the appraisal, yuan/亩.")] = None,
    rate: Annotated[float | None, typer.Option(help="土地还原率 (default RENEWAL_LAND_RATE: 6 %, 暂定值 provisional "
                                                    "until the bureau gives Cixi's rate).")] = None,
    tolerance: Annotated[float | None, typer.Option(help="Adjacency tolerance, m (default 0.5).")] = None,
    valuation_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD the terms are counted from (today).")] = None,
    planned: Annotated[float | None, typer.Option(help="The plan's total floor area, m².")] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Compute and print; save nothing.")] = False,
) -> None:
    """Check, merge and save a joint development (or only preview it); prints its figures as JSON."""
    import datetime as dt

    from app.db import audit
    from app.planning import joint_sql

    settings = settings_of(ctx)
    try:
        proposal = joint_sql.Proposal(
            parcels=parcel, members=[joint_sql.Member(*_member(m)) for m in member], name=name,
            p50_yuan_per_mu=p50, rate=rate if rate is not None else settings.land_rate, rate_given=rate is not None,
            rate_configured="land_rate" in settings.model_fields_set,
            tolerance_m=tolerance if tolerance is not None else settings.joint_tolerance_m,
            valuation_date=dt.date.fromisoformat(valuation_date) if valuation_date else dt.date.today(),
            planned_floor_area_m2=planned)
    except ValueError as err:
        fail(err)
    with database(settings) as engine:
        with engine.begin() as conn:
            if preview:
                result = joint_sql.with_geojson(conn, joint_sql.evaluate(conn, proposal, settings.rules))
            else:
                result = joint_sql.get(conn, joint_sql.create(conn, proposal, settings.rules))
                audit.record(conn, actor=audit.cli_actor(), action="create", entity="joint_development",
                             entity_key=result["id"], before=None,
                             after={k: v for k, v in result.items() if k != "geometry"})
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


@cli.command("show")
def joint_show(ctx: typer.Context, jd_id: Annotated[int, typer.Argument(help="Project id.")]) -> None:
    """Print a saved joint development as JSON."""
    from app.planning import joint_sql

    with database(settings_of(ctx)) as engine:
        with engine.connect() as conn:
            print(json.dumps(joint_sql.get(conn, jd_id), ensure_ascii=False, indent=2, default=str))


@cli.command("list")
def joint_list(ctx: typer.Context) -> None:
    """List joint developments: id, name, status, area (亩), term end, parcels."""
    from rich.console import Console
    from rich.table import Table

    from app.planning import joint_sql

    with database(settings_of(ctx)) as engine:
        with engine.connect() as conn:
            rows = joint_sql.list_all(conn)
    table = Table("id", "名称 name", "状态 status", "面积 亩", "终止日期 term end", "宗地 parcels")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], r["status"], f"{r['land_area_mu']:.2f}", r["term_end"],
                      ", ".join(r["parcels"]))
    Console(soft_wrap=True).print(table)
