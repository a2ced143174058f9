"""亩均效益 classes A/B/C/D of enterprises ([Zhejiang] 浙政发〔2018〕5号; docs/rules.md §6.4).

The class **published** by the bureau (``enterprises.class`` with ``class_year``) is the class used. Beside it,
an **indicative** class is computed by the provincial method with configurable numbers: each indicator is
divided by its benchmark (capped), weighted, and summed into a score (100 = every indicator at its
benchmark); firms are then ranked citywide, above-scale and below-scale firms apart, and banded by their
percentile (rank − ½) ÷ count (default A below 20%, B below 60%, C below 95%, D the rest). Indicators
absent from the data are left out and the remaining weights scaled up to 100; a proxy measured in an
indicator's place (亩均产值 for 亩均增加值) is marked as one. Cixi's own 4.0 method (慈亩均办〔2022〕49号)
publishes neither weights nor bands, so the computed class is only ever labelled "indicative".

A firm's land is its parcel's land divided equally among the firms on the parcel [assumed]. C/D firms are
flagged: D for 腾退 (exit, 限期腾退 [plan]), C for upgrading (提升) [assumed]; in a block renovated by full
demolition, C firms are flagged for exit too (the land is taken back).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Connection, RowMapping, text

from app.errors import NotFound
from app.planning import formulas
from app.programme.config import CLASS_INDICATORS, ProgrammeRules

CLASSES = ("A", "B", "C", "D")
CLASS_SOURCE = ("[Zhejiang] 浙政发〔2018〕5号 亩均效益综合评价; weights, benchmarks and bands configurable; Cixi's "
                "4.0 method (慈亩均办〔2022〕49号, 〔2024〕40号) unpublished, so the computed class is indicative")
RANK_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class FirmInput:
    """A firm's figures as the method takes them (yuan per year; land in 亩; energy in tce)."""

    above_scale: bool
    land_mu: float | None
    tax_yuan: float | None
    output_yuan: float | None = None
    energy_tce: float | None = None


@dataclass(slots=True)
class ScoreTerm:
    """One indicator's part in a firm's score."""

    indicator: Annotated[str, Field(description="Indicator code, e.g. tax_per_mu.")]
    name: Annotated[str, Field(description="Indicator name (中文).")]
    measured_as: Annotated[str, Field(description="What was measured: the indicator or its proxy.")]
    proxy: Annotated[bool, Field(description="True when a proxy was measured in the indicator's place.")]
    value: Annotated[float, Field(description="Measured value, in `unit`.")]
    unit: Annotated[str, Field(description="Unit of value and benchmark.")]
    benchmark: Annotated[float, Field(description="Benchmark, in `unit`.")]
    weight: Annotated[float, Field(description="Configured weight.")]
    weight_used: Annotated[float, Field(description="Weight after scaling the available weights to 100.")]
    ratio: Annotated[float, Field(description="value ÷ benchmark, capped, not below 0.")]
    points: Annotated[float, Field(description="weight_used × ratio.")]


@dataclass(slots=True)
class Score:
    """A firm's indicative score and how it was made."""

    score: Annotated[float | None, Field(description="Σ points (100 = every indicator at its benchmark); null when "
                                                     "no indicator could be measured.")]
    terms: Annotated[list[ScoreTerm], Field(description="The indicators measured.")]
    missing: Annotated[list[str], Field(description="Weighted indicators not in the data (left out).")]


def measure(firm: FirmInput, code: str) -> float | None:
    """The value of indicator or proxy ``code`` for ``firm``, or None when the data lack it."""
    def per(amount: float | None, basis: float | None) -> float | None:
        return None if amount is None or not basis else amount / basis
    if code == "tax_per_mu":
        return per(firm.tax_yuan, firm.land_mu)
    if code == "output_per_mu":
        return per(firm.output_yuan, firm.land_mu)
    if code == "output_per_tce":
        return per(firm.output_yuan, firm.energy_tce)
    return None  # value added, staff, emissions and R&D are not in the data


def score(firm: FirmInput, prules: ProgrammeRules) -> Score:
    """Σ weight × min(value ÷ benchmark, cap) over the measurable indicators, weights scaled to sum to 100."""
    weights = prules.class_weights if firm.above_scale else prules.class_below_scale_weights
    measured: list[tuple[str, str, float, float]] = []  # indicator, measured as, value, weight
    missing = []
    for indicator, weight in weights.items():
        if weight <= 0:
            continue
        measured_as = indicator
        value = measure(firm, indicator)
        if value is None and indicator in prules.class_proxies:
            measured_as = prules.class_proxies[indicator]
            value = measure(firm, measured_as)
        if value is None or measured_as not in prules.class_benchmarks:
            missing.append(indicator)
            continue
        measured.append((indicator, measured_as, value, weight))
    total = sum(w for *_, w in measured)
    terms = []
    for indicator, measured_as, value, weight in measured:
        benchmark = prules.class_benchmarks[measured_as]
        ratio = min(max(value / benchmark, 0.0), prules.class_ratio_cap)
        used = weight * 100 / total
        name, unit, _ = CLASS_INDICATORS[measured_as]
        terms.append(ScoreTerm(indicator, CLASS_INDICATORS[indicator][0], measured_as, measured_as != indicator,
                               value, unit, benchmark, weight, used, ratio, used * ratio))
    return Score(sum(t.points for t in terms) if terms else None, terms, missing)


def band(rank: int, count: int, bands: tuple[float, float, float]) -> str:
    """The class of the firm ranked ``rank`` (1 = best) of ``count``, by its percentile (rank − ½) ÷ count.

    The percentile is the middle of the firm's slot; a firm is in a band when its percentile lies strictly below
    the band's upper bound (default A < 20%, B < 60%, C < 95%, else D). Of 20 firms, ranks 1–4 are A, 5–12 B,
    13–19 C and 20 D; of 10 firms, rank 10 sits exactly on 95% and is D; a lone firm (50%) is B.
    """
    percentile = (rank - 0.5) / count
    for cls, upper in zip(CLASSES, bands, strict=False):
        if percentile < upper - RANK_TOLERANCE:
            return cls
    return CLASSES[-1]


def classify(scores: Mapping[str, float | None], bands: tuple[float, float, float]) -> dict[str, str | None]:
    """Classes by percentile band of the score, best first; equal scores share the better rank; None: no score."""
    known = {k: s for k, s in scores.items() if s is not None}
    ordered = sorted(known, key=lambda k: (-known[k], k))
    out: dict[str, str | None] = {k: None for k, s in scores.items() if s is None}
    rank = 0
    previous: float | None = None
    for i, key in enumerate(ordered, start=1):
        if known[key] != previous:
            rank, previous = i, known[key]
        out[key] = band(rank, len(ordered), bands)
    return out


def flag(cls: str | None, mode: str | None, prules: ProgrammeRules) -> str | None:
    """``exit`` (腾退), ``upgrade`` (提升) or None for a firm of class ``cls`` in a block of renovation ``mode``."""
    if cls is None:
        return None
    if cls in prules.exit_classes:
        return "exit"
    if cls in prules.upgrade_classes:
        return "exit" if mode == "demolition" else "upgrade"
    return None


# ---------------------------------------------------------------- database
@dataclass(slots=True)
class FirmClass:
    """A firm with its published and indicative 亩均效益 class and the resulting flag."""

    credit_code: Annotated[str, Field(description="统一社会信用代码.")]
    name: Annotated[str, Field(description="企业名称.")]
    parcel_code: Annotated[str, Field(description="宗地编号.")]
    block_code: Annotated[str, Field(description="区块编号.")]
    town_code: Annotated[str, Field(description="区划代码.")]
    above_scale: Annotated[bool, Field(description="规上工业企业.")]
    revenue_yuan: Annotated[float | None, Field(description="主营业务收入, yuan/year.")]
    land_mu: Annotated[float, Field(description="The firm's land: parcel land ÷ firms on the parcel, 亩 (an equal "
                                                "split: the data do not say who uses which part).")]
    tax_per_mu_wan: Annotated[float | None, Field(description="亩均税收, 万元/亩.")]
    published_class: Annotated[str | None, Field(description="Class as published by the bureau.")]
    published_year: Annotated[int | None, Field(description="Year of the published class.")]
    indicative_class: Annotated[str | None, Field(description="Class computed here (indicative).")]
    indicative_score: Annotated[float | None, Field(description="Score behind the indicative class.")]
    score_terms: Annotated[list[ScoreTerm], Field(description="How the score was made.")]
    missing_indicators: Annotated[list[str], Field(description="Weighted indicators not in the data.")]
    class_used: Annotated[str | None, Field(description="Published class, else the indicative one.")]
    class_basis: Annotated[str | None, Field(description="published or indicative.")]
    flag: Annotated[str | None, Field(description="exit (腾退), upgrade (提升) or null.")]


@dataclass(slots=True)
class ParcelClasses:
    """A parcel's firms and classes; the parcel is flagged when any of its firms is."""

    parcel_code: Annotated[str, Field(description="宗地编号.")]
    block_code: Annotated[str, Field(description="区块编号.")]
    owner: Annotated[str | None, Field(description="土地权属人.")]
    worst_class: Annotated[str | None, Field(description="Lowest class used among its firms.")]
    flag: Annotated[str | None, Field(description="exit if any firm is flagged for exit, else upgrade, else null.")]
    firms: Annotated[list[FirmClass], Field(description="Its firms.")]
    source: Annotated[str, Field(description="Method and its source.")]
    programme_version: Annotated[str, Field(description="Version of the programme configuration.")]


@dataclass(slots=True)
class BlockClasses:
    """A block's class counts and its flagged parcels."""

    block_code: Annotated[str, Field(description="区块编号.")]
    mode: Annotated[str | None, Field(description="改造路径.")]
    counts: Annotated[dict[str, int], Field(description="Firms per class used (A, B, C, D, none).")]
    exit_parcels: Annotated[list[str], Field(description="Parcels flagged for 腾退 (exit).")]
    upgrade_parcels: Annotated[list[str], Field(description="Parcels flagged for upgrading.")]
    parcels: Annotated[list[ParcelClasses], Field(description="Parcels with firms, by code.")]
    source: Annotated[str, Field(description="Method and its source.")]
    programme_version: Annotated[str, Field(description="Version of the programme configuration.")]


# The firms of a scope (a block, a parcel, or all when both are NULL) with the land each is given (parcel land ÷
# firms on the parcel: the scope never splits a parcel) and its block's mode.
_FIRMS = text("""
SELECT e.credit_code, e.name, e.above_scl, e.revenue::float8 AS revenue, e.tax::float8 AS tax,
       e.output::float8 AS output, e.energy_tce::float8 AS energy_tce, e.class AS published_class,
       e.class_year::int AS published_year, p.code AS parcel_code, p.owner, b.code AS block_code, b.mode,
       t.code AS town_code, ST_Area(p.geom) / count(*) OVER (PARTITION BY e.parcel_id) AS land_m2
FROM enterprises e
JOIN parcels p ON p.id = e.parcel_id
JOIN blocks b ON b.id = p.block_id
JOIN towns t ON t.id = b.town_id
WHERE (CAST(:block AS text) IS NULL OR b.code = :block) AND (CAST(:parcel AS text) IS NULL OR p.code = :parcel)
ORDER BY p.code, e.credit_code
""")
# What the citywide ranking reads of every firm with a parcel.
_POPULATION = text("""
SELECT e.credit_code, e.above_scl, e.tax::float8 AS tax, e.output::float8 AS output,
       e.energy_tce::float8 AS energy_tce, ST_Area(p.geom) / count(*) OVER (PARTITION BY e.parcel_id) AS land_m2
FROM enterprises e JOIN parcels p ON p.id = e.parcel_id
""")
# A fingerprint of everything the ranking reads: the data version (bumped by writes to parcels, blocks...) and
# the firms' figures. The ranking is cached per process under it (scoring every firm takes about a second at
# city size; the fingerprint tens of milliseconds).
_FINGERPRINT = text("""
SELECT (SELECT version FROM data_version WHERE id = 1) AS data_version,
       (SELECT md5(string_agg(concat_ws('|', e.credit_code, e.parcel_id, e.above_scl, e.tax, e.output, e.energy_tce),
                              ',' ORDER BY e.credit_code)) FROM enterprises e) AS firms
""")
_PARCEL = text("SELECT p.code, b.code AS block_code, p.owner FROM parcels p JOIN blocks b ON b.id = p.block_id "
               "WHERE p.code = :code")
_BLOCK = text("SELECT b.code, b.mode FROM blocks b WHERE b.code = :code")
_OWNERS = text("SELECT p.code, p.owner FROM parcels p JOIN blocks b ON b.id = p.block_id WHERE b.code = :code")

Ranking = dict[str, tuple[float | None, str | None]]
_RANKINGS: dict[tuple[str, Any, Any, str], Ranking] = {}
_RANKINGS_LOCK = threading.Lock()
_RANKINGS_KEPT = 4


def _firm_input(r: RowMapping) -> FirmInput:
    """A result row as the method's input."""
    return FirmInput(r["above_scl"], formulas.mu_from_m2(r["land_m2"]), r["tax"], r["output"], r["energy_tce"])


def rank_all(conn: Connection, prules: ProgrammeRules) -> Ranking:
    """Every firm's indicative (score, class): scored, then ranked citywide, above- and below-scale apart.

    Cached per database, data fingerprint and configuration; a change to the firms or parcels recomputes it.
    """
    fingerprint = conn.execute(_FINGERPRINT).one()
    key = (conn.engine.url.render_as_string(hide_password=True), fingerprint.data_version, fingerprint.firms,
           prules.programme_version)
    with _RANKINGS_LOCK:
        cached = _RANKINGS.get(key)
    if cached is not None:
        return cached
    rows = conn.execute(_POPULATION).mappings().all()
    scores = {r["credit_code"]: score(_firm_input(r), prules).score for r in rows}
    ranking: Ranking = {}
    for above in (True, False):
        group = {r["credit_code"]: scores[r["credit_code"]] for r in rows if r["above_scl"] == above}
        for code, cls in classify(group, prules.class_bands).items():
            ranking[code] = (scores[code], cls)
    with _RANKINGS_LOCK:
        _RANKINGS[key] = ranking
        while len(_RANKINGS) > _RANKINGS_KEPT:
            _RANKINGS.pop(next(iter(_RANKINGS)))
    return ranking


def firm_classes(conn: Connection, prules: ProgrammeRules, *, block: str | None = None,
                 parcel: str | None = None) -> list[FirmClass]:
    """The firms of a block, a parcel or the city with their published and indicative class and flag."""
    ranking = rank_all(conn, prules)
    out = []
    for r in conn.execute(_FIRMS, {"block": block, "parcel": parcel}).mappings():
        s = score(_firm_input(r), prules)
        indicative = ranking.get(r["credit_code"], (None, None))[1]
        used = r["published_class"] or indicative
        land_mu = formulas.mu_from_m2(r["land_m2"])
        tax_wan = None if r["tax"] is None or not land_mu else r["tax"] / land_mu / formulas.YUAN_PER_WAN
        out.append(FirmClass(
            credit_code=r["credit_code"], name=r["name"], parcel_code=r["parcel_code"], block_code=r["block_code"],
            town_code=r["town_code"], above_scale=r["above_scl"], revenue_yuan=r["revenue"], land_mu=land_mu,
            tax_per_mu_wan=tax_wan, published_class=r["published_class"], published_year=r["published_year"],
            indicative_class=indicative, indicative_score=s.score, score_terms=s.terms, missing_indicators=s.missing,
            class_used=used, class_basis=None if used is None else ("published" if r["published_class"] else
                                                                     "indicative"),
            flag=flag(used, r["mode"], prules)))
    return out


def _worst(classes: Iterable[str | None]) -> str | None:
    """The lowest class among ``classes`` (D worst), or None."""
    known = [c for c in classes if c]
    return max(known) if known else None


def _parcel(code: str, block_code: str, owner: str | None, firms: list[FirmClass],
            prules: ProgrammeRules) -> ParcelClasses:
    """A parcel's classes from its firms."""
    flags = {f.flag for f in firms}
    parcel_flag = "exit" if "exit" in flags else "upgrade" if "upgrade" in flags else None
    return ParcelClasses(code, block_code, owner, _worst(f.class_used for f in firms), parcel_flag, firms,
                         CLASS_SOURCE, prules.programme_version)


def parcel_classes(conn: Connection, code: str, prules: ProgrammeRules) -> ParcelClasses:
    """A parcel's firms with their classes; ``NotFound`` for an unknown parcel."""
    row = conn.execute(_PARCEL, {"code": code}).first()
    if row is None:
        raise NotFound(f"no parcel with code {code!r}",
                       zh=f"没有编号为 {code!r} 的宗地", field="code")
    firms = firm_classes(conn, prules, parcel=code)
    return _parcel(code, row.block_code, row.owner, firms, prules)


def block_classes(conn: Connection, code: str, prules: ProgrammeRules) -> BlockClasses:
    """A block's class counts and the parcels flagged for exit or upgrade; ``NotFound`` for an unknown block."""
    row = conn.execute(_BLOCK, {"code": code}).first()
    if row is None:
        raise NotFound(f"no block with code {code!r}",
                       zh=f"没有编号为 {code!r} 的区块", field="code")
    mine = firm_classes(conn, prules, block=code)
    by_parcel: dict[str, list[FirmClass]] = {}
    for f in mine:
        by_parcel.setdefault(f.parcel_code, []).append(f)
    owners: dict[str, str | None] = dict(conn.execute(_OWNERS, {"code": code}).all())
    parcels = [_parcel(p, code, owners.get(p), fs, prules) for p, fs in sorted(by_parcel.items())]
    counts = {c: sum(1 for f in mine if f.class_used == c) for c in CLASSES}
    counts["none"] = sum(1 for f in mine if f.class_used is None)
    return BlockClasses(code, row.mode, counts, [p.parcel_code for p in parcels if p.flag == "exit"],
                        [p.parcel_code for p in parcels if p.flag == "upgrade"], parcels, CLASS_SOURCE,
                        prules.programme_version)
