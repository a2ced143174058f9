"""The maps' style, one definition: colours, labels, class breaks and the thresholds a map shows.

Every map the service draws takes its colours from here: the web map and the progress dashboard (served as
JSON by ``GET /api/map/legend``; web/map.js and web/dashboard.js hard-code none of it), the SVG maps of the
reports and dossiers (:mod:`app.programme.svgmap`) and the self-contained folium town map
(:mod:`app.programme.report_map`). Pure data and functions: the thresholds come from the rules handed in
(``settings.rules``): the 容积率 floor ``far_min`` and the 亩均税收 lines ``old_block_tax_per_mu_wan`` (5万, the
old-block entry line) and ``target_tax_per_mu_wan`` (15万, the 2026 target). Labels of statuses and modes are
those of :mod:`app.models` (the lookup tables' rows).

The 容积率 bands are a diverging scheme (ColorBrewer RdBu) split at ``far_min``: four reds below the floor,
three blues at or above it, with breaks at ¼, ½, ¾, 1, 1¼ and 1½ × ``far_min`` (0.5 … 3.0 with the default
floor of 2.0; other breaks than the floor itself rounded to 0.01, the precision of the tiles' ``far``).

Pass and fail read together with the bands, also where almost every parcel fails (the sample: ~95 %): the band
is the fill, a failing parcel is hatched (``FAIL.hatch``, thin dark diagonals that show on every band) inside
its red outline, a passing one has no hatch and a dark blue outline. The outline of the selected feature
(``SELECTION``: cyan on a dark casing) and the joint developments' yellow (``JOINT``) are colours no fill uses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from app.models import BLOCK_STATUSES, RENOVATION_MODES
from app.planning.config import PlanningRules


@dataclass(frozen=True, slots=True)
class Swatch:
    """One class of a map: its code, Chinese and English labels, its colour (the fill of an area, the stroke of
    an outline-only class) and, where it has one, its outline colour and width (CSS px) and the colour of the
    hatch drawn over its fill."""

    code: str
    zh: str
    en: str
    colour: str
    line: str | None = None
    width: float | None = None
    hatch: str | None = None


@dataclass(frozen=True, slots=True)
class FarBand:
    """A 容积率 band: ``lower`` ≤ far < ``upper`` (None: unbounded), its colour and label; ``passes`` when the
    band lies at or above the floor."""

    lower: float | None
    upper: float | None
    colour: str
    label: str
    passes: bool


@dataclass(frozen=True, slots=True)
class TaxBand:
    """A 亩均税收 band (万元/亩): below ``upper`` (None: unbounded), or up to and including it when
    ``upper_included``; its tone (``bad``, ``mid``, ``good``: the badge the page shows) and labels."""

    upper: float | None
    tone: Literal["bad", "mid", "good"]
    zh: str
    en: str
    upper_included: bool = False


_STATUS_COLOURS = {"listed": "#9e9e9e", "surveyed": "#e6b419", "planned": "#ef7d1a", "in_progress": "#2f6fd0",
                   "accepted": "#2e9e4f"}
_MODE_COLOURS = {"demolition": "#c8322d", "sorting": "#7b58b5", "management": "#17977c"}

STATUSES: tuple[Swatch, ...] = tuple(Swatch(code, zh, en, _STATUS_COLOURS[code]) for code, zh, en in BLOCK_STATUSES)
"""Block statuses (实施状态), in programme order."""
NO_MODE = Swatch("none", "未确定", "Not decided", "#bdbdbd")
"""A block whose renovation mode is not decided yet."""
MODES: tuple[Swatch, ...] = (*(Swatch(code, zh, en, _MODE_COLOURS[code]) for code, zh, en in RENOVATION_MODES),
                             NO_MODE)
"""Renovation modes (改造路径), then ``none``."""
STATUS_COLOURS: dict[str, str] = {s.code: s.colour for s in STATUSES}
"""Fill colour of a block by status."""
MODE_COLOURS: dict[str, str] = {s.code: s.colour for s in MODES}
"""Fill colour of a block by renovation mode (``none``: not decided)."""
STATUS_LABELS: dict[str, str] = {s.code: s.zh for s in STATUSES}
"""Chinese label of a status."""
MODE_LABELS: dict[str, str] = {s.code: s.zh for s in MODES}
"""Chinese label of a renovation mode (``none``: not decided)."""
UNKNOWN_COLOUR = "#cccccc"
"""Fill of a class the legend does not know."""

FAR_BAND_COLOURS: tuple[str, ...] = ("#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#92c5de", "#4393c3", "#2166ac")
"""容积率 band colours, lowest first: four below the floor, three at or above it."""
FAR_BAND_FACTORS: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
"""Breaks between the bands as multiples of ``far_min`` (1.0: the floor itself)."""

_FAIL_RED = "#a50f15"
PARCEL_LINE = ("#555555", 0.8)
"""Outline (colour, width) of a parcel on the report maps when nothing (a flag) gives it another."""
PASS = Swatch("pass", "达标", "Passes", FAR_BAND_COLOURS[4], line="#08306b", width=1.2)
"""A parcel at or above its 容积率 floor: the fill where a map shows compliance only, and its dark blue outline."""
FAIL = Swatch("fail", "未达标", "Fails", FAR_BAND_COLOURS[2], line=_FAIL_RED, width=1.3, hatch="#2b0505")
"""A parcel below its 容积率 floor: hatched over its band inside a red outline on the web map, red fill on the
dossier map."""
NO_FLOOR = Swatch("none", "不设下限", "No floor claimed", FAR_BAND_COLOURS[3], line=PARCEL_LINE[0],
                  width=PARCEL_LINE[1])
"""A parcel for which no 容积率 floor is claimed (rule_basis none: other land, warehouse land without a floor,
industrial land outside the programme without an industry code): neither hatched nor outlined as passing."""
HATCH_SPACING = 8
"""Distance between the hatch lines, CSS px (a divisor of the 256 px tile: the lines run on across tiles)."""
SELECTION = Swatch("selected", "选中", "Selected", "#00e5ff", line="#111111", width=3.0)
"""The feature whose card is open: a cyan line (``colour``, ``width``) on a dark casing (``line``); no fill is
near this cyan (tests/web/test_legend.py)."""
JOINT = Swatch("joint", "联合开发", "Joint development", "#ffd600", line="#1a1a1a", width=3.0)
"""Joint developments (联合开发) and the parcels picked for one: a yellow line on a dark casing, a faint yellow
fill."""
FLAGS: tuple[Swatch, ...] = (Swatch("exit", "C/D 腾退", "C/D exit", "#8c1010", width=2.2),
                             Swatch("upgrade", "C 提升", "C upgrade", "#d98c00", width=2.2))
"""Outlines of parcels flagged by the 亩均效益 classification (dossier maps)."""
FLAG_COLOURS: dict[str, str] = {s.code: s.colour for s in FLAGS}
"""Outline colour of a flagged parcel."""
BUILDINGS: tuple[Swatch, ...] = (Swatch("building", "建筑", "Building", "#3d3d3d", line="#222222", width=0.5),
                                 Swatch("illegal", "违法建筑", "Illegal", "#e7298a", line="#7a0177", width=0.8))
"""Buildings, and illegal buildings (违法建筑)."""
CHARTS: dict[str, str] = {"renovated": STATUS_COLOURS["accepted"], "progress": STATUS_COLOURS["in_progress"],
                          "short": STATUS_COLOURS["planned"], "target": _FAIL_RED, "planned": NO_MODE.colour}
"""Colours of the progress dashboard's charts: renovated (as accepted blocks), in progress, a target not met, the
target line, planned."""


def _digits(breaks: tuple[float, ...]) -> int:
    """Decimals of the band labels: one when every break has one at most (0.5 … 3.0), else two."""
    return 1 if all(round(b, 1) == b for b in breaks) else 2


def far_breaks(rules: PlanningRules) -> tuple[float, ...]:
    """The 容积率 breaks between the bands: ``far_min`` × FAR_BAND_FACTORS, the floor exact, others to 0.01."""
    return tuple(rules.far_min if k == 1.0 else round(rules.far_min * k, 2) for k in FAR_BAND_FACTORS)


def far_bands(rules: PlanningRules) -> tuple[FarBand, ...]:
    """The 容积率 bands, lowest first, split at the rules' floor."""
    breaks = far_breaks(rules)
    digits = _digits(breaks)
    bounds = [None, *breaks, None]
    bands = []
    for i, colour in enumerate(FAR_BAND_COLOURS):
        lower, upper = bounds[i], bounds[i + 1]
        if lower is None:
            label = f"< {upper or 0.0:.{digits}f}"
        elif upper is None:
            label = f"≥ {lower:.{digits}f}"
        else:
            label = f"{lower:.{digits}f} – {upper:.{digits}f}"
        bands.append(FarBand(lower, upper, colour, label, passes=lower is not None and lower >= rules.far_min))
    return tuple(bands)


def far_colour(far: float | None, rules: PlanningRules) -> str:
    """The band colour of a 容积率 (no value: as 0, like a parcel without buildings)."""
    value = far or 0.0
    for band in far_bands(rules):
        if band.upper is None or value < band.upper:
            return band.colour
    return FAR_BAND_COLOURS[-1]


def tax_bands(rules: PlanningRules) -> tuple[TaxBand, ...]:
    """The 亩均税收 bands (万元/亩): at or below the old-block line ("5万元以下" includes 5万: 以下 includes the
    figure, 《民法典》第一千二百五十九条), up to the 2026 target, at or above the target."""
    old, target = rules.old_block_tax_per_mu_wan, rules.target_tax_per_mu_wan
    return (TaxBand(old, "bad", f"{old:g}万及以下（入选线）", f"{old:g} or less (entry line)", upper_included=True),
            TaxBand(target, "mid", f"{old:g}万–{target:g}万", f"{old:g} – {target:g}"),
            TaxBand(None, "good", f"≥{target:g}万（2026目标）", f"≥ {target:g} (2026 target)"))


def legend(rules: PlanningRules) -> dict[str, Any]:
    """The whole style as JSON for the page: thresholds, classes with colours and labels, bands, chart colours."""
    return {
        "rule_version": rules.rule_version,
        "thresholds": {"far_min": rules.far_min, "old_block_tax_per_mu_wan": rules.old_block_tax_per_mu_wan,
                       "target_tax_per_mu_wan": rules.target_tax_per_mu_wan},
        "statuses": [asdict(s) for s in STATUSES],
        "modes": [asdict(s) for s in MODES],
        "far_bands": [asdict(b) for b in far_bands(rules)],
        "compliance": {"pass": asdict(PASS), "fail": asdict(FAIL), "none": asdict(NO_FLOOR)},
        "tax_bands": [asdict(b) for b in tax_bands(rules)],
        "flags": [asdict(s) for s in FLAGS],
        "buildings": [asdict(s) for s in BUILDINGS],
        "charts": dict(CHARTS),
        "unknown": UNKNOWN_COLOUR,
        "hatch_spacing": HATCH_SPACING,
        "selection": asdict(SELECTION),
        "joint": asdict(JOINT),
    }
