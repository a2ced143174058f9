"""CQL2-text (OGC API – Features Part 3) parsed into a SQL condition with bound values.

Supported: ``AND``/``OR``/``NOT`` and parentheses; comparisons ``= <> < > <= >=``; ``LIKE`` (``%``, ``_``),
``BETWEEN``, ``IN``, ``IS [NOT] NULL``; ``CASEI()``; boolean, number, string, ``DATE()`` and
``TIMESTAMP()`` literals; spatial ``S_INTERSECTS``, ``S_WITHIN``, ``S_CONTAINS``, ``S_DISJOINT``,
``S_EQUALS``, ``S_TOUCHES``, ``S_OVERLAPS``, ``S_CROSSES`` (also without the ``S_`` prefix) with the
geometry property and a WKT or ``BBOX(...)`` literal in ``filter-crs`` (default CRS84); temporal
``T_BEFORE``, ``T_AFTER``, ``T_INTERSECTS``, ``T_EQUALS`` with a date property and a date.

Properties are looked up in the layer registry (the queryables); their SQL comes from there, never
from the request. Every literal becomes a bound parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.errors import GEOSException

from app.errors import InvalidParameter
from app.io.crs import OgcCrs, geometry_to_storage
from app.io.layers import Layer
from app.ogc.params import Params

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^']|'')*')
      | (?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<op><>|<=|>=|=|<|>|\(|\)|,)
      | (?P<qid>"(?:[^"]|"")+")
      | (?P<word>[A-Za-z_\u0080-\uffff][A-Za-z0-9_.:\u0080-\uffff]*)
    )""",
    re.X,
)
_SPATIAL = {
    "INTERSECTS": "ST_Intersects({a}, {b})",
    "WITHIN": "ST_Within({a}, {b})",
    "CONTAINS": "ST_Contains({a}, {b})",
    "DISJOINT": "NOT ST_Intersects({a}, {b})",
    "EQUALS": "ST_Equals({a}, {b})",
    "TOUCHES": "ST_Touches({a}, {b})",
    "OVERLAPS": "ST_Overlaps({a}, {b})",
    "CROSSES": "ST_Crosses({a}, {b})",
}
_TEMPORAL = {"T_BEFORE": "<", "T_AFTER": ">", "T_INTERSECTS": "=", "T_EQUALS": "="}
_COMPARE = {"=", "<>", "<", ">", "<=", ">="}
MAX_DEPTH = 50  # parentheses and NOTs nested deeper than this are refused (no recursion blow-up)
MAX_LENGTH = 20000  # characters of a filter
_WKT_TYPES = {"POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
              "GEOMETRYCOLLECTION"}
GEOMETRY_NAMES = ("geometry", "geom")


@dataclass
class Token:
    """A lexical token: its kind (str, num, op, qid, word), text and position."""

    kind: str
    text: str
    pos: int


@dataclass
class Operand:
    """A scalar operand: its SQL and its registry kind (None for a literal of unknown type)."""

    sql: str
    kind: str | None
    is_property: bool = False


def _tokens(text: str) -> list[Token]:
    """Split CQL2 text into tokens, or report where it cannot."""
    out: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise InvalidParameter(f"filter: unexpected character at position {pos + 1}: {text[pos:pos + 10]!r}",
                                   zh=f"filter：第 {pos + 1} 个字符处有意外的字符：{text[pos:pos + 10]!r}",
                                   field="filter")
        kind = m.lastgroup or ""
        out.append(Token(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


class _Parser:
    """Recursive-descent parser that emits SQL as it goes."""

    def __init__(self, text: str, layer: Layer, crs: OgcCrs, storage_srid: int, bind: Params) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.layer = layer
        self.crs = crs
        self.srid = storage_srid
        self.bind = bind
        self.depth = 0

    # --- token helpers -------------------------------------------------------------------------
    def _peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def _word(self, offset: int = 0) -> str:
        tok = self._peek(offset)
        return tok.text.upper() if tok is not None and tok.kind == "word" else ""

    def _fail(self, msg: str, zh: str) -> InvalidParameter:
        tok = self._peek()
        where = f"at position {tok.pos + 1} ({tok.text!r})" if tok else "at the end"
        where_zh = f"位于第 {tok.pos + 1} 个字符（{tok.text!r}）" if tok else "位于末尾"
        return InvalidParameter(f"filter: {msg} {where}", zh=f"filter：{zh}，{where_zh}", field="filter")

    def _expect(self, text: str) -> Token:
        tok = self._peek()
        if tok is None or tok.text.upper() != text:
            raise self._fail(f"expected {text!r}", f"应为 {text!r}")
        self.i += 1
        return tok

    def _accept_word(self, *words: str) -> str | None:
        w = self._word()
        if w in words:
            self.i += 1
            return w
        return None

    def _bind(self, value: Any) -> str:
        return self.bind(value)

    # --- grammar -------------------------------------------------------------------------------
    def parse(self) -> str:
        """The whole filter."""
        if not self.toks:
            raise InvalidParameter("filter: empty expression",
                                   zh="filter：表达式为空", field="filter")
        sql = self._or()
        if self._peek() is not None:
            raise self._fail("unexpected token", "意外的记号")
        return sql

    def _or(self) -> str:
        parts = [self._and()]
        while self._accept_word("OR"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def _and(self) -> str:
        parts = [self._not()]
        while self._accept_word("AND"):
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def _nest(self) -> None:
        """Count one more level of nesting; refuse filters nested deeper than ``MAX_DEPTH``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._fail(f"nested deeper than {MAX_DEPTH} levels", f"嵌套超过 {MAX_DEPTH} 层")

    def _not(self) -> str:
        if self._accept_word("NOT"):
            self._nest()
            inner = self._not()
            self.depth -= 1
            return f"(NOT {inner})"
        return self._primary()

    def _primary(self) -> str:
        tok = self._peek()
        if tok is None:
            raise self._fail("expected a condition", "应为条件")
        if tok.text == "(":
            self.i += 1
            self._nest()
            inner = self._or()
            self._expect(")")
            self.depth -= 1
            return f"({inner})"
        word = self._word()
        nxt = self._peek(1)
        if nxt is not None and nxt.text == "(":
            name = word[2:] if word.startswith("S_") else word
            if name in _SPATIAL and (word.startswith("S_") or word in _SPATIAL):
                return self._spatial(name)
            if word in _TEMPORAL:
                return self._temporal(word)
        if word in ("TRUE", "FALSE") and not self._is_comparison_ahead(1):
            self.i += 1
            return word
        return self._predicate()

    def _is_comparison_ahead(self, offset: int) -> bool:
        tok = self._peek(offset)
        return tok is not None and (tok.text in _COMPARE or tok.text.upper() in ("LIKE", "BETWEEN", "IN", "IS",
                                                                                   "NOT"))

    def _predicate(self) -> str:
        left = self._scalar()
        tok = self._peek()
        if tok is not None and tok.text in _COMPARE:
            self.i += 1
            right = self._scalar(hint=left.kind)
            self._check_types(left, right)
            return f"{left.sql} {tok.text} {right.sql}"
        negate = bool(self._accept_word("NOT"))
        word = self._accept_word("LIKE", "BETWEEN", "IN", "IS")
        if word == "LIKE":
            pattern = self._scalar(hint="str")
            return f"{left.sql} {'NOT ' if negate else ''}LIKE {pattern.sql} ESCAPE '\\'"
        if word == "BETWEEN":
            low = self._scalar(hint=left.kind)
            self._expect("AND")
            high = self._scalar(hint=left.kind)
            return f"{left.sql} {'NOT ' if negate else ''}BETWEEN {low.sql} AND {high.sql}"
        if word == "IN":
            self._expect("(")
            items = [self._scalar(hint=left.kind).sql]
            while self._peek() is not None and self._peek().text == ",":  # type: ignore[union-attr]
                self.i += 1
                items.append(self._scalar(hint=left.kind).sql)
            self._expect(")")
            return f"{left.sql} {'NOT ' if negate else ''}IN ({', '.join(items)})"
        if word == "IS" and not negate:
            not_ = self._accept_word("NOT")
            self._expect("NULL")
            return f"{left.sql} IS {'NOT ' if not_ else ''}NULL"
        if left.is_property and left.kind == "bool" and not negate:
            return left.sql
        raise self._fail("expected a comparison, LIKE, BETWEEN, IN or IS NULL",
                         "应为比较、LIKE、BETWEEN、IN 或 IS NULL")

    def _check_types(self, left: Operand, right: Operand) -> None:
        numeric = {"int", "float"}
        if left.kind and right.kind and left.kind != right.kind and not {left.kind, right.kind} <= numeric:
            raise self._fail(f"cannot compare a {left.kind} with a {right.kind}",
                             f"{left.kind} 不能与 {right.kind} 比较")

    def _scalar(self, hint: str | None = None) -> Operand:
        tok = self._peek()
        if tok is None:
            raise self._fail("expected a value", "应为值")
        word = self._word()
        if word in ("CASEI", "LOWER", "UPPER") and self._peek(1) is not None and self._peek(1).text == "(":  # type: ignore[union-attr]
            self.i += 1
            self._expect("(")
            inner = self._scalar(hint="str")
            self._expect(")")
            return Operand(f"lower({inner.sql})", "str", inner.is_property)
        if word in ("DATE", "TIMESTAMP") and self._peek(1) is not None and self._peek(1).text == "(":  # type: ignore[union-attr]
            self.i += 1
            self._expect("(")
            lit = self._peek()
            if lit is None or lit.kind != "str":
                raise self._fail(f"{word} needs a quoted value", f"{word} 需要带引号的值")
            self.i += 1
            self._expect(")")
            return Operand(self._bind(_date(lit.text[1:-1].replace("''", "'"), word, self)), "date")
        if tok.kind == "str":
            self.i += 1
            value = tok.text[1:-1].replace("''", "'")
            if hint == "date":
                return Operand(self._bind(_date(value, "DATE", self)), "date")
            return Operand(self._bind(value), "str")
        if tok.kind == "num":
            self.i += 1
            number: float | int = float(tok.text) if re.search(r"[.eE]", tok.text) else int(tok.text)
            return Operand(self._bind(number), "float" if isinstance(number, float) else "int")
        if word in ("TRUE", "FALSE"):
            self.i += 1
            return Operand(self._bind(word == "TRUE"), "bool")
        if tok.kind in ("word", "qid"):
            self.i += 1
            name = tok.text[1:-1].replace('""', '"') if tok.kind == "qid" else tok.text
            return self._property(name)
        raise self._fail("expected a property or a value", "应为属性或值")

    def _property(self, name: str) -> Operand:
        if not self.layer.has_field(name):
            known = ", ".join(f.name for f in self.layer.fields)
            raise InvalidParameter(f"filter: unknown property {name!r}; queryables: {known}, geometry",
                                   zh=f"filter：未知的属性 {name!r}；可查询的属性：{known}、geometry",
                                   field="filter")
        f = self.layer.field(name)
        return Operand(f.where_sql(self.layer.alias), f.kind, True)

    def _geometry_operand(self) -> str:
        tok = self._peek()
        if tok is None:
            raise self._fail("expected a geometry", "应为几何")
        word = self._word()
        if tok.kind in ("word", "qid"):
            name = tok.text.strip('"')
            if name.lower() in GEOMETRY_NAMES:
                self.i += 1
                return self.layer.geom_sql
        if word == "BBOX" or word == "ENVELOPE":
            self.i += 1
            self._expect("(")
            nums: list[float] = []
            while True:
                t = self._peek()
                if t is None or t.kind != "num":
                    raise self._fail("BBOX needs numbers", "BBOX 需要数字")
                nums.append(float(t.text))
                self.i += 1
                if not self._peek() or self._peek().text != ",":  # type: ignore[union-attr]
                    break
                self.i += 1
            self._expect(")")
            if len(nums) == 6:
                nums = [nums[0], nums[1], nums[3], nums[4]]
            if len(nums) != 4:
                raise self._fail("BBOX needs 4 numbers", "BBOX 需要 4 个数")
            a, b, c, d = nums
            if word == "ENVELOPE":  # older drafts: ENVELOPE(minx, maxx, maxy, miny)
                a, b, c, d = nums[0], nums[3], nums[1], nums[2]
            if self.crs.lat_lon:
                a, b, c, d = b, a, d, c
            return self._geom_literal(shapely.box(min(a, c), min(b, d), max(a, c), max(b, d)))
        if word in _WKT_TYPES:
            start = tok.pos
            self.i += 1
            depth = 0
            end = start
            while True:
                t = self._peek()
                if t is None:
                    raise self._fail("unbalanced parentheses in WKT", "WKT 中括号不成对")
                self.i += 1
                if t.text == "(":
                    depth += 1
                elif t.text == ")":
                    depth -= 1
                    if depth == 0:
                        end = t.pos + 1
                        break
            wkt = self.text[start:end]
            try:
                geom = shapely.from_wkt(wkt)
            except (GEOSException, ValueError) as err:
                raise InvalidParameter(f"filter: invalid WKT {wkt[:40]!r}: {err}",
                                       zh=f"filter：无效的 WKT {wkt[:40]!r}：{err}", field="filter") from err
            if self.crs.lat_lon:
                geom = shapely.transform(geom, lambda xy: xy[:, ::-1])
            return self._geom_literal(geom)
        raise self._fail("expected the geometry property, BBOX(...) or a WKT geometry",
                         "应为几何属性、BBOX(...) 或 WKT 几何")

    def _geom_literal(self, geom: shapely.Geometry) -> str:
        plain = OgcCrs(self.crs.srid, self.crs.uri, lat_lon=False)  # axis order already handled
        moved = geometry_to_storage(geom, plain, self.srid)
        ewkb = shapely.to_wkb(shapely.set_srid(moved, self.srid), include_srid=True)
        return f"ST_GeomFromEWKB({self._bind(ewkb)})"

    def _spatial(self, name: str) -> str:
        self.i += 1
        self._expect("(")
        a = self._geometry_operand()
        self._expect(",")
        b = self._geometry_operand()
        self._expect(")")
        return "(" + _SPATIAL[name].format(a=a, b=b) + ")"

    def _temporal(self, word: str) -> str:
        self.i += 1
        self._expect("(")
        left = self._scalar(hint="date")
        self._expect(",")
        right = self._scalar(hint="date")
        self._expect(")")
        if left.kind != "date" or right.kind != "date":
            raise self._fail(f"{word} compares dates", f"{word} 比较的是日期")
        return f"({left.sql} {_TEMPORAL[word]} {right.sql})"


def _date(text: str, word: str, parser: _Parser) -> dt.date | dt.datetime:
    """A DATE or TIMESTAMP literal."""
    try:
        if word == "DATE":
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise parser._fail(f"invalid {word} {text!r}", f"无效的 {word} {text!r}") from None


def compile_filter(text: str, layer: Layer, crs: OgcCrs, storage_srid: int, bind: Params) -> str:
    """Compile a CQL2-text ``filter`` for ``layer`` into a SQL condition whose values ``bind`` binds."""
    if len(text) > MAX_LENGTH:
        raise InvalidParameter(f"filter: longer than {MAX_LENGTH:,} characters",
                               zh=f"filter：超过 {MAX_LENGTH:,} 个字符", field="filter")
    return _Parser(text, layer, crs, storage_srid, bind).parse()
