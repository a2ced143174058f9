"""The programme's hand-built data set: the planning cases (tests/planning/cases.py) plus statuses, history,
modes, plan years, firms and baselines, each chosen so that every progress figure can be worked by hand.

胜山镇 330282113 (all four blocks), 观海卫镇 330282107 (no blocks). Block outlines (m², 亩 = m² × 15 / 10000):

| block | outline m² | 亩 | now | mode | plan year |
|---|---|---|---|---|---|
| BA QK113-001 | 700 × 150 = 105 000 | 157.5 | accepted | demolition | 2023 |
| BB QK113-002 | 200 × 150 = 30 000 | 45 | accepted | sorting | 2023 |
| BC QK113-003 | 200 × 150 = 30 000 | 45 | in_progress | sorting | 2024 |
| BD QK113-004 | 100 × 150 = 15 000 | 22.5 | listed | (none) | — |

History (changed_on): BA surveyed 2022-04-01, planned 2022-06-15, in_progress 2023-03-01, accepted 2024-05-20
(works finished 2024-04-30); BB surveyed 2022-04-20, planned 2022-06-30, in_progress 2023-07-01, accepted
2025-11-10; BC surveyed 2022-05-10, planned 2022-07-15 (both late), in_progress 2024-01-01; BD none.

Tax (yuan/year) of the parcels reporting it: BA 600 000 + 300 000 + 900 000 + 0 = 1 800 000 on 37 500 m²
(56.25 亩); BB 1 200 000 on 10 000 m² (15 亩).

Firms: E1 A1 above-scale A (2025), revenue 1.5亿, since 2023 (new); E2 A2 above-scale C, since 2015; E3 A4a
above-scale D, no baseline; E4 A4a below scale, no class; E5 B1 above-scale B, since 2022 (new); E6 C1
above-scale, since 2024 (new, but BC is not renovated).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from tests.planning import cases

BA, BB, BC, BD = cases.BA, cases.BB, cases.BC, cases.BD
TOWN, EMPTY_TOWN = cases.TOWN, cases.EMPTY_TOWN
P = cases.P

HISTORY = {
    BA: [("listed", "surveyed", "2022-04-01"), ("surveyed", "planned", "2022-06-15"),
         ("planned", "in_progress", "2023-03-01"), ("in_progress", "accepted", "2024-05-20")],
    BB: [("listed", "surveyed", "2022-04-20"), ("surveyed", "planned", "2022-06-30"),
         ("planned", "in_progress", "2023-07-01"), ("in_progress", "accepted", "2025-11-10")],
    BC: [("listed", "surveyed", "2022-05-10"), ("surveyed", "planned", "2022-07-15"),
         ("planned", "in_progress", "2024-01-01")],
}
BLOCKS = {  # status, mode, plan_year, works_completed_on
    BA: ("accepted", "demolition", 2023, "2024-04-30"),
    BB: ("accepted", "sorting", 2023, None),
    BC: ("in_progress", "sorting", 2024, None),
    BD: ("listed", None, None, None),
}
FIRMS = [  # credit code, name, parcel, above scale, revenue, tax, output, energy tce, class, baseline year
    ("91330282E000000001", "甬兴电器有限公司", P["A1"], True, 150_000_000, 600_000, 160_000_000, 800, "A", 2023),
    ("91330282E000000002", "长河轴承有限公司", P["A2"], True, 30_000_000, 300_000, 32_000_000, 300, "C", 2015),
    ("91330282E000000003", "新华五金厂", P["A4a"], True, 25_000_000, 500_000, 26_000_000, 900, "D", None),
    ("91330282E000000004", "宏达塑料制品厂", P["A4a"], False, 5_000_000, 400_000, 5_500_000, 100, None, None),
    ("91330282E000000005", "恒鑫精密机械有限公司", P["B1"], True, 60_000_000, 1_200_000, 65_000_000, 500, "B", 2022),
    ("91330282E000000006", "天海新材料有限公司", P["C1"], True, 40_000_000, None, 41_000_000, 400, None, 2024),
]


def load(engine: Engine, tmp_path: Path) -> None:
    """The planning cases, then the programme's statuses, history, firms and baselines."""
    cases.load(engine, tmp_path)
    with engine.begin() as conn:
        for code, (status, mode, year, works) in BLOCKS.items():
            conn.execute(text("UPDATE blocks SET status = :s, mode = :m, plan_year = :y, "
                              "works_completed_on = CAST(:w AS date) WHERE code = :c"),
                         {"s": status, "m": mode, "y": year, "w": works, "c": code})
        for code, steps in HISTORY.items():
            for old, new, day in steps:
                conn.execute(text(
                    "INSERT INTO block_status_history (block_id, event, from_status, to_status, changed_on, actor, "
                    "remark, block_version) SELECT id, 'advance', :o, :n, CAST(:d AS date), 'test', 'hand-built', "
                    "version FROM blocks WHERE code = :c"), {"o": old, "n": new, "d": day, "c": code})
        for credit, name, parcel, above, revenue, tax, output, energy, cls, since in FIRMS:
            conn.execute(text(
                "INSERT INTO enterprises (credit_code, name, parcel_id, above_scl, revenue, tax, output, energy_tce, "
                "class, class_year) SELECT :cc, :n, id, :a, :r, :t, :o, :e, :cls, :cy FROM parcels WHERE code = :p"),
                {"cc": credit, "n": name, "p": parcel, "a": above, "r": revenue, "t": tax, "o": output, "e": energy,
                 "cls": cls, "cy": 2025 if cls else None})
            if since is not None:
                conn.execute(text("INSERT INTO enterprise_baselines (credit_code, above_scl_since, source) "
                                  "VALUES (:cc, :y, 'test')"), {"cc": credit, "y": since})
