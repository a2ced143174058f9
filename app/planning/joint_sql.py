"""Joint development (联合开发) in PostGIS: adjacency, the merged outline, figures, storage.

Adjacency: two parcels are neighbours when at least ``joint_shared_boundary_factor`` (4) × tolerance of one's
boundary lies within the tolerance of the other. A shared edge counts its whole length, also across a
digitizing gap or overlap narrower than the tolerance; a touch at a single point leaves at most about
2 × tolerance of boundary near the other parcel, so it is not adjacency.
Merged outline: the union of the parcels closed by ± ``joint_closing_factor`` (½) × tolerance (mitred, so
right-angled corners stay exact): slivers narrower than the tolerance close, real holes such as a foreign
courtyard stay. Both factors are planning rules (``RENEWAL_RULE_JOINT_*``), the tolerance itself a setting or the
request's.

A joint development is a consortium of land-rights holders; 一事一议 (case by case) is the plan's path for
state-owned acquisitions of at least 200 亩 for strategic industries (``ProgrammeRules.state_acquisition_mu``,
:func:`app.programme.incentives.state_acquisition`), not for consortia, so the figures carry no such flag.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, InvalidParameter, NotConnected, NotFound
from app.planning import joint
from app.planning.config import PlanningRules
from app.planning.formulas import far, mu_from_m2
from app.planning.metrics import parcel_figures

MIN_TOLERANCE_M = 0.01
"""With a tolerance of 0 the shared boundary still has to be ``joint_shared_boundary_factor`` × 1 cm long."""
MAX_TOLERANCE_M = 5.0
"""The largest adjacency tolerance a proposal may ask for (as the setting ``RENEWAL_JOINT_TOLERANCE_M``)."""
DROPPED_FIGURES = ("one_case_one_discussion", "acquisition_line_mu")
"""Figures stored by earlier versions that no longer apply (一事一议 is not a consortium's): left out on reading."""


PARCELS = text("""
SELECT p.id, p.code, p.owner, p.term_end, ST_Area(p.geom) AS land_area_m2
FROM parcels p WHERE p.code = ANY(:codes)
""")

# Pairs of parcels whose shared boundary (within :tol metres) is at least :min_shared metres long.
ADJACENT = text("""
WITH p AS (SELECT id, code, geom FROM parcels WHERE code = ANY(:codes))
SELECT a.code, b.code
FROM p a JOIN p b ON a.id < b.id AND ST_DWithin(a.geom, b.geom, :tol)
WHERE ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Buffer(b.geom, :tol))) >= :min_shared
""")

# The merged outline (storage CRS): union, closed by ± :closing_m (the closing factor × tolerance) with mitred
# joins; number of parts.
MERGED = text("""
WITH u AS (
    SELECT ST_Buffer(ST_Buffer(ST_Union(geom), :closing_m, 'join=mitre mitre_limit=5'),
                     -CAST(:closing_m AS float8), 'join=mitre mitre_limit=5') AS g
    FROM parcels WHERE code = ANY(:codes)
), m AS (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) AS g FROM u)
SELECT ST_AsEWKT(g) AS ewkt, ST_NumGeometries(g) AS parts, ST_Area(g) AS outline_area_m2,
       ST_NRings(g) - ST_NumGeometries(g) AS holes
FROM m
""")

IN_ACTIVE_PROJECT = text("""
SELECT p.code, jd.id, jd.name
FROM joint_development_parcels jp
JOIN parcels p ON p.id = jp.parcel_id JOIN joint_developments jd ON jd.id = jp.jd_id
WHERE jp.active AND p.code = ANY(:codes) AND jd.id IS DISTINCT FROM :exclude
ORDER BY p.code LIMIT 1
""")

INSERT = text("""
INSERT INTO joint_developments (name, tolerance_m, rate, p50_yuan_per_mu, valuation_date, planned_floor_area_m2,
                                term_end, land_area_m2, figures, geom)
VALUES (:name, :tolerance_m, :rate, :p50, :valuation_date, :planned, :term_end, :land_area_m2,
        CAST(:figures AS jsonb), ST_GeomFromEWKT(:ewkt))
RETURNING id
""")
INSERT_PARCELS = text("""
INSERT INTO joint_development_parcels (jd_id, parcel_id) SELECT :jd_id, id FROM parcels WHERE code = ANY(:codes)
""")
INSERT_MEMBER = text("""
INSERT INTO joint_development_members (jd_id, owner, share_pct, planned_floor_area_m2)
VALUES (:jd_id, :owner, :share_pct, :planned)
""")
GET = text("""
SELECT jd.id, jd.name, jd.status, jd.created_at, jd.figures, ST_AsGeoJSON(ST_Transform(jd.geom, 4326), 7) AS geojson
FROM joint_developments jd WHERE jd.id = :id
""")
OUTLINE_GEOJSON = text("SELECT ST_AsGeoJSON(ST_Transform(ST_GeomFromEWKT(:ewkt), 4326), 7)")
LIST = text("""
SELECT jd.id, jd.name, jd.status, jd.created_at, jd.land_area_m2, jd.term_end,
       array_agg(p.code ORDER BY p.code) AS parcels
FROM joint_developments jd
JOIN joint_development_parcels jp ON jp.jd_id = jd.id JOIN parcels p ON p.id = jp.parcel_id
GROUP BY jd.id ORDER BY jd.id
""")


@dataclass(frozen=True)
class Member:
    """A consortium member: the land-rights holder, its agreed share (%) and optional planned floor area."""

    owner: str
    share_pct: float
    planned_floor_area_m2: float | None = None


@dataclass(frozen=True)
class Proposal:
    """What a joint development is asked to be: parcels, members and the valuation inputs."""

    parcels: list[str]
    members: list[Member]
    name: str | None = None
    p50_yuan_per_mu: float | None = None
    rate: float = 0.06
    tolerance_m: float = 0.5
    valuation_date: dt.date = field(default_factory=dt.date.today)
    planned_floor_area_m2: float | None = None
    rate_given: bool = False  # the rate came from the request, not the configured default
    rate_configured: bool = False  # the default rate was set by RENEWAL_LAND_RATE, not left at the provisional 6 %


RATE_SETTING = "RENEWAL_LAND_RATE"
"""The setting that gives the 土地还原率 used when a request gives none."""


def rate_source(*, given: bool, configured: bool) -> str:
    """Where the 土地还原率 of a proposal comes from, as shown to users: given, configured, or the provisional
    default (the income method of GB/T 18508-2014 《城镇土地估价规程》 needs a rate the bureau has not yet set)."""
    method = "依据 GB/T 18508-2014《城镇土地估价规程》收益还原法"
    if given:
        return f"请求给定 (given with the request) · {method}"
    if configured:
        return f"{RATE_SETTING} 设定值 (configured) · {method}"
    return f"暂定值 (provisional), 由 {RATE_SETTING} 设定 (set it to Cixi's value) · {method}"


def _check_members(proposal: Proposal, owners: dict[str, str]) -> None:
    """Shares sum to 100 %, every member holds a parcel and every parcel's holder is a member."""
    if not proposal.members:
        raise InvalidParameter("members: at least one member is needed",
                               zh="members：至少需要一个成员", field="members")
    names = [m.owner for m in proposal.members]
    if len(set(names)) != len(names):
        raise InvalidParameter("members: an owner is listed twice",
                               zh="members：有权属人重复列出", field="members")
    total = sum(m.share_pct for m in proposal.members)
    if not joint.shares_sum_ok(m.share_pct for m in proposal.members):
        raise InvalidParameter(f"members: shares sum to {total:.4f}%, not 100% (±0.01%)",
                               zh=f"members：份额合计 {total:.4f}%，不是 100%（±0.01%）", field="members")
    held = set(owners.values())
    for m in proposal.members:
        if m.owner not in held:
            raise InvalidParameter(f"members: {m.owner!r} holds none of the parcels",
                                   zh=f"members：{m.owner!r} 不持有任何一块宗地", field="members")
    for code, owner in owners.items():
        if owner not in names:
            raise InvalidParameter(f"parcels: the holder of {code} ({owner!r}) is not a member",
                                   zh=f"parcels：{code} 的权属人（{owner!r}）不是成员", field="members")


def evaluate(conn: Connection, proposal: Proposal, rules: PlanningRules, *, exclude: int | None = None
             ) -> dict[str, Any]:
    """Check a proposal and compute its merged outline and figures (nothing is written)."""
    codes = list(dict.fromkeys(proposal.parcels))
    if len(codes) < 2:
        raise InvalidParameter("parcels: a joint development needs at least two different parcels",
                               zh="parcels：联合开发至少需要两块不同的宗地", field="parcels")
    if proposal.tolerance_m < 0 or proposal.tolerance_m > MAX_TOLERANCE_M:
        raise InvalidParameter(f"tolerance_m must be between 0 and {MAX_TOLERANCE_M:g} m",
                               zh=f"tolerance_m 应在 0 到 {MAX_TOLERANCE_M:g} m 之间", field="tolerance_m")
    rows = {r.code: r for r in conn.execute(PARCELS, {"codes": codes})}
    unknown = [c for c in codes if c not in rows]
    if unknown:
        raise NotFound(f"parcels: no parcel with code {unknown[0]}",
                       zh=f"parcels：没有编号为 {unknown[0]} 的宗地", field="parcels")
    busy = conn.execute(IN_ACTIVE_PROJECT, {"codes": codes, "exclude": exclude}).first()
    if busy is not None:
        raise Conflict(f"parcels: {busy[0]} already belongs to active joint development {busy[1]} ({busy[2]})",
                       zh=f"parcels：{busy[0]} 已属于进行中的联合开发 {busy[1]}（{busy[2]}）",
                       field="parcels")
    owners = {c: rows[c].owner or "" for c in codes}
    _check_members(proposal, owners)

    tol = proposal.tolerance_m
    min_shared = rules.joint_shared_boundary_factor * max(tol, MIN_TOLERANCE_M)
    edges = [(a, b) for a, b in conn.execute(ADJACENT, {"codes": codes, "tol": tol, "min_shared": min_shared})]
    groups = joint.connected_groups(codes, edges)
    if len(groups) > 1:
        cut = groups[1] if len(groups) == 2 else [c for g in groups[1:] for c in g]
        raise NotConnected(f"parcels: {', '.join(cut)} {'is' if len(cut) == 1 else 'are'} cut off from "
                           f"{', '.join(groups[0])} (no shared boundary within {tol:g} m)",
                           zh=f"parcels：{'、'.join(cut)} 与 {'、'.join(groups[0])} 不相连（{tol:g} m 内没有公共边界"
                              "）", field="parcels")
    merged = conn.execute(MERGED, {"codes": codes, "closing_m": rules.joint_closing_factor * tol}).one()
    if merged.parts != 1:
        raise NotConnected(f"parcels: the merged outline has {merged.parts} parts",
                           zh=f"parcels：合并后的轮廓分为 {merged.parts} 块", field="parcels")

    figures = {f.parcel_code: f for f in parcel_figures(conn, rules, "parcels", codes=codes)}
    land_m2 = sum(rows[c].land_area_m2 for c in codes)
    counted_m2 = sum(figures[c].far_floor_area_m2 for c in codes)
    needed_m2 = rules.far_min * land_m2
    member_planned = [m.planned_floor_area_m2 for m in proposal.members]
    planned = proposal.planned_floor_area_m2
    if planned is None and all(v is not None for v in member_planned):
        planned = sum(v for v in member_planned if v is not None)
    split_basis = planned if planned is not None else needed_m2
    terms = [joint.ParcelTerm(c, owners[c], rows[c].land_area_m2, rows[c].term_end) for c in codes]
    if any(t.term_end is None for t in terms):
        missing = next(t.code for t in terms if t.term_end is None)
        raise InvalidParameter(f"parcels: {missing} has no term end (土地使用权终止日期)",
                               zh=f"parcels：{missing} 没有土地使用权终止日期", field="parcels")
    term_end = joint.merged_term_end(terms)
    if term_end <= proposal.valuation_date:
        raise InvalidParameter(f"valuation_date: every term has ended by {proposal.valuation_date.isoformat()} "
                               f"(the longest ends {term_end.isoformat()})",
                               zh=f"valuation_date：到 {proposal.valuation_date.isoformat()} 所有土地使用权均已到期（"
                                  f"最晚的于 {term_end.isoformat()} 到期）", field="valuation_date")
    top_ups = (joint.top_ups(terms, proposal.valuation_date, proposal.p50_yuan_per_mu, proposal.rate)
               if proposal.p50_yuan_per_mu is not None else [])
    land_mu = mu_from_m2(land_m2)
    return {
        "name": proposal.name or "联合开发 " + "+".join(codes),
        "parcels": [{"code": c, "owner": owners[c], "land_area_m2": rows[c].land_area_m2,
                     "land_area_mu": mu_from_m2(rows[c].land_area_m2), "term_end": rows[c].term_end.isoformat(),
                     "far_floor_area_m2": figures[c].far_floor_area_m2, "far": figures[c].far} for c in codes],
        "land_area_m2": land_m2,
        "land_area_mu": land_mu,
        "outline_area_m2": merged.outline_area_m2,
        "holes": merged.holes,
        "tolerance_m": tol,
        "far_floor_area_m2": counted_m2,
        "far": far(counted_m2, land_m2),
        "far_target": rules.far_min,
        "floor_area_for_target_m2": needed_m2,
        "floor_area_to_add_m2": max(needed_m2 - counted_m2, 0.0),
        "planned_floor_area_m2": planned,
        "planned_far": far(planned, land_m2) if planned is not None else None,
        "term_end": term_end.isoformat(),
        "valuation_date": proposal.valuation_date.isoformat(),
        "rate": proposal.rate,
        "rate_source": rate_source(given=proposal.rate_given, configured=proposal.rate_configured),
        "rate_provisional": not (proposal.rate_given or proposal.rate_configured),
        "rate_setting": RATE_SETTING,
        "p50_yuan_per_mu": proposal.p50_yuan_per_mu,
        "top_ups": [asdict(t) for t in top_ups],
        "top_up_total_yuan": sum(t.top_up_yuan for t in top_ups) if proposal.p50_yuan_per_mu is not None else None,
        "split_basis": "规划建筑面积 (planned floor area)" if planned is not None else
                       f"容积率 {rules.far_min:g} 所需建筑面积 (floor area at 容积率 {rules.far_min:g})",
        "split": [{"owner": m.owner, "share_pct": m.share_pct, "floor_area_m2": a,
                   "land_area_share_pct": s}
                  for m, a, s in zip(proposal.members,
                                     joint.split_floor_area(split_basis, [m.share_pct for m in proposal.members]),
                                     joint.land_area_shares_pct([sum(rows[c].land_area_m2 for c in codes
                                                                     if owners[c] == m.owner)
                                                                 for m in proposal.members]), strict=True)],
        "rule_version": rules.rule_version,
        "ewkt": merged.ewkt,
    }


def with_geojson(conn: Connection, figures: dict[str, Any]) -> dict[str, Any]:
    """The evaluated figures with the outline as GeoJSON (CRS84) in place of the storage-CRS EWKT."""
    out = {k: v for k, v in figures.items() if k != "ewkt"}
    out["geometry"] = json.loads(conn.execute(OUTLINE_GEOJSON, {"ewkt": figures["ewkt"]}).scalar_one())
    return out


def create(conn: Connection, proposal: Proposal, rules: PlanningRules) -> int:
    """Evaluate and store a joint development with its parcels and members; returns its id."""
    figures = evaluate(conn, proposal, rules)
    ewkt = figures.pop("ewkt")
    try:
        jd_id = conn.execute(INSERT, {
            "name": figures["name"], "tolerance_m": proposal.tolerance_m, "rate": proposal.rate,
            "p50": proposal.p50_yuan_per_mu, "valuation_date": proposal.valuation_date,
            "planned": figures["planned_floor_area_m2"], "term_end": dt.date.fromisoformat(figures["term_end"]),
            "land_area_m2": figures["land_area_m2"], "figures": json.dumps(figures, ensure_ascii=False),
            "ewkt": ewkt}).scalar_one()
        conn.execute(INSERT_PARCELS, {"jd_id": jd_id, "codes": proposal.parcels})
        for m in proposal.members:
            conn.execute(INSERT_MEMBER, {"jd_id": jd_id, "owner": m.owner, "share_pct": m.share_pct,
                                         "planned": m.planned_floor_area_m2})
    except IntegrityError as err:
        if "ux_jd_parcels_active" in str(err.orig):
            raise Conflict("parcels: a parcel was taken by another joint development meanwhile",
                           zh="parcels：某块宗地已同时被另一个联合开发占用",
                           field="parcels") from err
        raise
    return int(jd_id)


def get(conn: Connection, jd_id: int) -> dict[str, Any]:
    """A stored joint development: its figures as saved and its outline as GeoJSON (CRS84)."""
    row = conn.execute(GET, {"id": jd_id}).first()
    if row is None:
        raise NotFound(f"no joint development with id {jd_id}",
                       zh=f"没有编号为 {jd_id} 的联合开发", field="id")
    figures = {k: v for k, v in row.figures.items() if k not in DROPPED_FIGURES}
    if "[assumed]" in str(figures.get("rate_source", "")):  # saved before the source was worded for users
        figures["rate_source"] = rate_source(given=False, configured=False)
        figures.update(rate_provisional=True, rate_setting=RATE_SETTING)
    return {"id": row.id, "status": row.status, "created_at": row.created_at.isoformat(), **figures,
            "geometry": json.loads(row.geojson)}


def list_all(conn: Connection) -> list[dict[str, Any]]:
    """All joint developments, oldest first."""
    return [{"id": r.id, "name": r.name, "status": r.status, "created_at": r.created_at.isoformat(),
             "land_area_m2": r.land_area_m2, "land_area_mu": mu_from_m2(r.land_area_m2),
             "term_end": r.term_end.isoformat(), "parcels": list(r.parcels)} for r in conn.execute(LIST)]
