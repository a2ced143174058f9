"""What a page shows as text, for the one-language and number-format checks of the browser tests.

``visible_texts`` walks the text a user sees: visible text nodes, the chosen option of each visible select, the
placeholders of visible empty inputs. Skipped: what the page marks as a name or value from the data
(``data-name``: town, block, holder and firm names… are Chinese in either language), text tagged with a
language of its own (``lang`` on an element: the language switch names the other language in that language),
and tooltips (SVG ``title``).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page

WALK = """(codes) => {
  const out = [];
  const skip = (el) => el.closest("[data-name], [lang]:not(html), script, style, title, option, select")
    || (!codes && el.closest(".code"));
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.nodeValue.trim();
    const el = n.parentElement;
    if (!text || !el || skip(el)) continue;
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    out.push(text);
  }
  for (const sel of document.querySelectorAll("select")) {
    const o = sel.selectedOptions[0];
    if (o && sel.checkVisibility({ visibilityProperty: true }) && !o.hasAttribute("data-name")
        && !(sel.parentElement && skip(sel.parentElement))) out.push(o.textContent.trim());
  }
  for (const input of document.querySelectorAll("input[placeholder]")) {
    if (input.checkVisibility({ visibilityProperty: true }) && !input.value) out.push(input.placeholder);
  }
  return out;
}"""

LATIN_OK = frozenset({"GPKG", "OGC", "API", "HTML", "PDF", "JSON", "Leaflet", "OpenStreetMap", "geoBoundaries",
                      "ODbL"})
"""Latin words a Chinese page may show: formats, standards and the names of the map's sources."""
HAN = re.compile(r"[\u2e80-\u2fff\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
"""Han characters and CJK punctuation (full-width brackets, 、，：…)."""


def visible_texts(page: Page, codes: bool = True) -> list[str]:
    """The texts shown; without ``codes`` also without the elements the page marks as codes (class ``code``:
    区划代码 such as 330282003, which are not numbers to group)."""
    return page.evaluate(WALK, codes)


def english_words(texts: list[str]) -> list[tuple[str, str]]:
    """(word, text) of every Latin word of two letters or more that is not a code (codes carry digits: QK003-001,
    rules-1) and not in LATIN_OK. Single letters pass (亩均效益 classes A–D, m²)."""
    found = []
    for text in texts:
        for word in re.findall(r"[A-Za-z][A-Za-z0-9_.\-]*", text):
            if len(re.sub(r"[^A-Za-z]", "", word)) >= 2 and not re.search(r"\d", word) and word not in LATIN_OK:
                found.append((word, text))
    return found


def chinese_texts(texts: list[str]) -> list[str]:
    """The texts holding a Han character or CJK punctuation."""
    return [t for t in texts if HAN.search(t)]


def ungrouped_numbers(texts: list[str]) -> list[tuple[str, str]]:
    """(number, text) of numbers of four digits or more written without thousands separators, years (1990–2099)
    aside; digits inside codes and dates (QK003-001, 330282104002GB00155, 2026-12-04) are not numbers."""
    found = []
    for text in texts:
        for m in re.finditer(r"(?<![\w\-./:])\d{4,}(?:\.\d+)?(?![\w\-/:]|\.\d)", text):
            digits = m.group().split(".")[0]
            if len(digits) == 4 and 1990 <= int(digits) <= 2099:
                continue
            found.append((m.group(), text))
    return found
