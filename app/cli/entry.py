"""``renewal check entry``: a proposed project on a parcel against the entry thresholds (准入门槛), the numbers of
``POST /api/parcels/{code}/entry-check`` (:mod:`app.planning.entry`), as a table or JSON.

Exit status: 0 when no threshold fails, 1 when one fails, 2 on an error (unknown parcel, bad input: the message
names the option).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.common import database, settings_of
from app.errors import InvalidParameter, NotFound

if TYPE_CHECKING:
    from app.planning.entry import EntryCheck

FORMATS = ("table", "json")
OPTIONS = {
    "invest_yuan": "--invest", "floor_area_m2": "--floor-area", "storeys": "--storeys",
    "storey_heights_m": "--storey-heights", "footprint_m2": "--footprint", "structures_m2": "--structures",
    "yards_m2": "--yards", "green_m2": "--green", "supporting_land_m2": "--supporting-land",
    "supporting_floor_area_m2": "--supporting-floor", "dormitory_land_m2": "--dormitory-land",
    "dormitory_floor_area_m2": "--dormitory-floor", "tax_yuan": "--tax", "output_yuan": "--output",
    "industry_code": "--industry", "code": "--parcel",
}
"""The option that gives each input of the entry check (for error messages)."""


def _heights(text: str | None) -> tuple[float, ...] | None:
    """``9,4.5,4.5,4.5`` as storey heights in metres (bottom up)."""
    if text is None:
        return None
    try:
        return tuple(float(h) for h in text.split(",") if h.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected metres separated by commas, e.g. 9,4.5,4.5,4.5",
                                 param_hint="--storey-heights") from None


def entry(
    ctx: typer.Context,
    parcel: Annotated[str, typer.Option(help="Parcel code (宗地编号) the project is proposed on.")],
    invest: Annotated[float, typer.Option(help="Fixed-asset investment (固定资产投资), yuan.", min=0)],
    floor_area: Annotated[float, typer.Option(help="Planned floor area (建筑面积), m².", min=0)],
    storeys: Annotated[int, typer.Option(help="Planned storeys (层数).", min=1, max=100)],
    footprint: Annotated[float, typer.Option(help="Building footprints (基底面积), m².", min=0)],
    tax: Annotated[float, typer.Option(help="Expected yearly tax (年税收), yuan.", min=0)],
    output: Annotated[float, typer.Option(help="Expected yearly output (年产值), yuan.", min=0)],
    storey_heights: Annotated[str | None, typer.Option(help="Storey heights in m, bottom up, one per storey, e.g. "
                                                            "9,4.5,4.5,4.5 (a storey above 8 m counts twice).")] = None,
    green: Annotated[float, typer.Option(help="Green area (绿地面积), m².", min=0)] = 0.0,
    supporting_land: Annotated[float, typer.Option(help="Land of 行政办公及生活服务设施, m².", min=0)] = 0.0,
    supporting_floor: Annotated[float, typer.Option(help="Floor area of 行政办公及生活服务设施, m².", min=0)] = 0.0,
    dormitory_land: Annotated[float, typer.Option(help="Of the supporting land, for 宿舍型保障性租赁住房, m².",
                                                  min=0)] = 0.0,
    dormitory_floor: Annotated[float, typer.Option(help="Of the supporting floor area, for 宿舍型保障性租赁住房, m².",
                                                   min=0)] = 0.0,
    structures: Annotated[float, typer.Option(help="Structures (构筑物) footprint, m² (建筑系数).", min=0)] = 0.0,
    yards: Annotated[float, typer.Option(help="Open storage yards (露天堆场), m² (建筑系数).", min=0)] = 0.0,
    industry: Annotated[str | None, typer.Option(help="Industry code of GB/T 4754-2017, e.g. C3481 (negative "
                                                      "list).")] = None,
    format: Annotated[str, typer.Option(help="table or json (the API's body).")] = "table",
) -> None:
    """Check a proposed project on a parcel against the entry thresholds (准入门槛). Exit 1 when one fails."""
    from app.planning import entry as domain

    settings = settings_of(ctx)
    project = domain.ProjectInput(
        invest_yuan=invest, floor_area_m2=floor_area, storeys=storeys, footprint_m2=footprint, tax_yuan=tax,
        output_yuan=output, green_m2=green, supporting_land_m2=supporting_land,
        supporting_floor_area_m2=supporting_floor, dormitory_land_m2=dormitory_land,
        dormitory_floor_area_m2=dormitory_floor, structures_m2=structures, yards_m2=yards,
        storey_heights_m=_heights(storey_heights), industry_code=industry)
    with database(settings) as engine:
        if format not in FORMATS:
            raise InvalidParameter(f"unknown format {format!r}; formats: {', '.join(FORMATS)}",
                                   zh=f"未知的格式 {format!r}；可选：{'、'.join(FORMATS)}", field="format")
        with engine.connect() as conn:
            try:
                result = domain.entry_check(conn, parcel, project, settings.rules)
            except (InvalidParameter, NotFound) as err:  # name the option that gave the field
                option = OPTIONS.get(err.field or "")
                if option is None:
                    raise
                raise type(err)(f"{err.detail} ({option})", zh=f"{err.text('zh')}（{option}）",
                                field=err.field) from None
    if format == "json":
        json.dump(dataclasses.asdict(result), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print_table(result)
    if result.outcome == "fail":
        raise typer.Exit(code=1)


def _value(value: float | str | list[str] | None, unit: str) -> str:
    """A value or threshold as the table shows it (fractions in percent)."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(value)
    if isinstance(value, str):
        return value
    if unit == "fraction":
        return f"{value * 100:.2f} %"
    return f"{value:,.2f}" + ("" if unit == "ratio" else f" {unit}")


def _print_table(result: EntryCheck) -> None:
    """The thresholds as a rich table on stdout, the figures and notes above, sources below each row."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    f = result.figures
    out = Console(width=max(Console().width, 120), soft_wrap=False)
    table = Table(title=escape(f"准入门槛 entry check: parcel {result.parcel_code} (block {result.block_code}), "
                               f"{f.land_area_m2:,.2f} m² = {f.land_area_mu:,.2f} 亩: {result.outcome}"),
                  caption=escape("; ".join([*result.notes, result.rule_version])), title_justify="left",
                  caption_justify="left", show_lines=True)
    for name, justify in (("threshold", "left"), ("value", "right"), ("", "center"), ("threshold value", "right"),
                          ("outcome", "left"), ("shortfall", "right"), ("source", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in result.thresholds:
        shortfall = "—" if r.shortfall is None else f"{r.shortfall:,.2f} {r.shortfall_unit}"
        outcome = {"pass": "[green]pass[/green]", "fail": "[red]fail[/red]"}.get(r.outcome, "not checked")
        table.add_row(escape(f"{r.name_zh} {r.name_en}"), escape(_value(r.value, r.unit)), r.comparison,
                      escape(_value(r.threshold, r.unit)), outcome, escape(shortfall), escape(r.source))
    out.print(table)
