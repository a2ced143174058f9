/* The planners' map: towns, blocks coloured by programme status or renovation mode, parcels coloured by
   容积率 band and pass/fail, buildings at high zoom; cards, filters, search, totals and legend.
   Joint developments (their layer and the mode that picks parcels for one) live in joint.js, loaded after
   this file; the map starts once both are in (DOMContentLoaded).
   Colours, labels, 容积率 bands and thresholds (the FAR floor, the 亩均税收 lines) come from api/map/legend
   (app/planning/legend.py, built from the configured rules): this file hard-codes none of them.
   Every request goes to this app's own origin with relative URLs; a basemap only when configured.
   The language, the login and downloads are the pages' shared component (auth.js, window.renewalUI): one
   language at a time; names from the data (towns, blocks, holders, firms…) are marked data-name, the only
   Chinese an English page shows. */
"use strict";

// Filled from api/map/legend before any layer is drawn (useLegend).
let LEGEND = null;
let STATUS = {};     // code -> {zh, en, color}
let MODE = {};       // code -> {zh, en, color}; "none": not decided
let FAR_BANDS = [];  // [{max, color, label}], lowest first: reds below the floor, blues at or above it
let SELECTION = {};  // the open card's feature: a line (colour, width) on a casing (line)
let JOINT = {};      // joint developments: {line, casing}
function useLegend(legend) {
  const table = (items) => Object.fromEntries(items.map((s) => [s.code, { zh: s.zh, en: s.en, color: s.colour }]));
  LEGEND = legend;
  STATUS = table(legend.statuses);
  MODE = table(legend.modes);
  FAR_BANDS = legend.far_bands.map((b) => ({ max: b.upper ?? Infinity, color: b.colour, label: b.label }));
  SELECTION = legend.selection;
  JOINT = { line: legend.joint.colour, casing: legend.joint.line };
}
const PARCEL_MIN_ZOOM = 14;
const BUILDING_MIN_ZOOM = 16;
const ZOOMED_IN = 15;  // from this zoom the map container gets the class zoomed-in (map.css)

const TEXT = {
  zh: {
    title: "慈溪市老旧工业区块改造提升", other: "English", panel: "面板", search_hint: "搜索区块或宗地编号、名称",
    filters: "筛选", layers: "图层", totals: "统计", legend: "图例", details: "详情", all: "全部",
    hint: "点击区块或宗地查看详情", town: "镇街", status: "实施状态", mode: "改造路径", compliance: "容积率达标",
    fail_only: "未达标", pass_only: "已达标", colour_by: "区块着色：", in_view: "仅当前视图",
    l_towns: "镇街界线", l_blocks: "老旧工业区块", l_parcels: "宗地（14级起）", l_buildings: "建筑物（16级起）",
    block: "区块", parcel: "宗地", code: "编号", industry: "产业定位",
    land_area: "用地面积", block_area: "区块面积", far: "容积率", far_floor: "容积率下限", tax_per_mu: "亩均税收",
    above_scale: "规上企业", enterprises: "企业", parcels_failing: "未达标宗地", owner: "土地权属人",
    land_use: "用地性质", term_end: "使用权终止", counted: "计容建筑面积", shortfall: "距下限缺口",
    buildings: "建筑物", illegal: "违法建筑", pass: "达标", fail: "未达标", lifted: "已豁免",
    metrics: "指标", export: "导出宗地 (GPKG)", zoom_to: "定位", blocks_n: "区块数", parcels_n: "宗地数",
    share_failing: "未达标比例", failing_land: "未达标用地", shortfall_total: "容积率缺口", mu: "亩",
    wan_per_mu: "万元/亩", m2: "m²", wan_m2: "万m²", legend_blocks: "区块", legend_parcels: "宗地容积率", legend_buildings: "建筑物",
    legend_towns: "镇街界线（示意）", fails_hatch: "斜线、红框：未达下限", passes_outline: "深蓝框：达到下限",
    no_floor_outline: "灰框：不设下限（非工业用地等）",
    selected: "选中", building: "建筑", no_data: "无数据",
    rule: "规则", exemption: "豁免", of: "/", loading: "加载中…", none_found: "未找到", from_zoom: "级起显示",
    progress: "进度", attribution: "县界 © OpenStreetMap 贡献者、geoBoundaries（ODbL）；镇街范围为示意",
    classes: "亩均效益", class: "亩均效益", exit: "腾退", upgrade: "提升", tenx: "十化得分", proxies: "含代理指标",
    before_after: "改造前后", incentives: "激励", wan_yuan: "万元", overdue: "逾期", dossier: "地块档案",
    step_surveyed: "排查", step_planned: "方案审批", step_works: "实施完成", step_accepted: "验收",
    days_late: "逾期{n}天",
    surveyed: "层高与地下室", metre: "m", garage_floors: "二层以上车库{n}层", basement: "地下{n}层（{use}）",
    b_garage: "车库", b_plant: "设备用房", b_commercial: "商业", sep: "；",
    rule_basis: "适用标准", no_floor: "不设下限", industry_code: "行业代码",
    basis_programme: "攻坚行动计划下限", basis_exemption: "区块豁免下限", basis_national_industry: "国家行业下限",
    basis_warehouse: "仓储用地下限", basis_none: "不设下限（仅报告）",
  },
  en: {
    title: "Cixi old industrial block renovation", other: "中文", panel: "Panel", search_hint: "Search block or parcel code, name",
    filters: "Filters", layers: "Layers", totals: "Totals", legend: "Legend", details: "Details", all: "All",
    hint: "Click a block or parcel for details", town: "Town", status: "Status", mode: "Mode", compliance: "FAR compliance",
    fail_only: "Failing", pass_only: "Passing", colour_by: "Colour blocks by:", in_view: "Only in view",
    l_towns: "Town outlines", l_blocks: "Old industrial blocks", l_parcels: "Parcels (zoom 14+)",
    l_buildings: "Buildings (zoom 16+)", block: "Block", parcel: "Parcel",
    code: "Code", industry: "Industry", land_area: "Land area", block_area: "Block area", far: "FAR",
    far_floor: "FAR floor", tax_per_mu: "Tax per mu", above_scale: "Above-scale firms", enterprises: "Firms",
    parcels_failing: "Parcels failing", owner: "Land holder", land_use: "Land use", term_end: "Term ends",
    counted: "Counted floor area", shortfall: "Shortfall to the floor", buildings: "Buildings", illegal: "Illegal",
    pass: "Passes", fail: "Fails", lifted: "Exempt", metrics: "Metrics", export: "Export parcels (GPKG)",
    zoom_to: "Zoom to", blocks_n: "Blocks", parcels_n: "Parcels", share_failing: "Share failing",
    failing_land: "Land failing", shortfall_total: "FAR shortfall", mu: "mu", wan_per_mu: "10k yuan/mu", m2: "m²",
    wan_m2: "10k m²", legend_blocks: "Blocks", legend_parcels: "Parcel FAR", legend_buildings: "Buildings",
    legend_towns: "Town outlines (synthetic)", fails_hatch: "hatched, red outline: below the floor",
    passes_outline: "dark blue outline: at or above the floor",
    no_floor_outline: "grey outline: no floor claimed (not industrial land…)", selected: "Selected", building: "Building",
    no_data: "no data", rule: "Rule", exemption: "Exemption", of: "of", loading: "Loading…", none_found: "Nothing found",
    from_zoom: "from zoom", progress: "Progress",
    attribution: "County outline © OpenStreetMap contributors, geoBoundaries (ODbL); town areas are synthetic",
    classes: "Classes", class: "Class", exit: "exit", upgrade: "upgrade", tenx: "10 standards", proxies: "incl. proxies",
    before_after: "Before/after", incentives: "incentives", wan_yuan: "10k yuan", overdue: "Overdue", dossier: "Dossier",
    step_surveyed: "survey", step_planned: "plan approval", step_works: "works finished", step_accepted: "acceptance",
    days_late: "{n} days late",
    surveyed: "Storeys as surveyed", metre: "m", garage_floors: "garages above the second floor ×{n}",
    basement: "basement ×{n} ({use})", b_garage: "garage", b_plant: "plant room", b_commercial: "commercial",
    sep: "; ",
    rule_basis: "Rule basis", no_floor: "No floor claimed", industry_code: "industry",
    basis_programme: "Programme floor", basis_exemption: "Block exemption", basis_national_industry: "National minimum by industry",
    basis_warehouse: "Warehouse floor", basis_none: "No floor (reported only)",
  },
};

const state = {
  lang: renewalUI.lang(),
  colourBy: "status",
  filters: { town: "", status: "", mode: "", compliance: "" },
  blocks: new Map(),      // code -> {code, name, town, status, mode}
  towns: [],              // [{code, name}]
  card: null,             // [kind, data] of the open card
  totals: null,
  inView: false,
};

function t(key) { return TEXT[state.lang][key] ?? key; }
function label(table, code) { return table[code || "none"] ? table[code || "none"][state.lang] : (code ?? "—"); }
function esc(v) {
  return String(v ?? "—").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
/** A number in the UI's locale, thousands grouped (renewalUI.num), with 2 decimals unless told. */
function num(v, digits = 2) { return renewalUI.num(v, digits); }
/** A name or value as recorded in the data (Chinese in either language), escaped and marked as such. */
function named(v) { return `<span data-name>${esc(v)}</span>`; }
function farColour(far) { return (FAR_BANDS.find((b) => far < b.max) || FAR_BANDS[FAR_BANDS.length - 1]).color; }
function blockColour(p) { return state.colourBy === "mode" ? MODE[p.mode || "none"].color : (STATUS[p.status] || STATUS.listed).color; }
function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) u.set(k, v);
  return u.toString();
}
async function getJSON(url) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return resp.json();
}

// ---------------------------------------------------------------- map and layers
const map = L.map("map", { minZoom: 8, maxZoom: 20, zoomControl: true, preferCanvas: true }).setView([30.2, 121.3], 10);
for (const [name, z] of [["blocks", 350], ["parcels", 360], ["buildings", 370], ["joint", 375], ["towns", 380]]) {
  map.createPane(name).style.zIndex = z;
}
// Clicks on drawn geometry are resolved by pick(), not by Leaflet's vector layers.
map.getPane("joint").style.pointerEvents = "none";
map.getPane("towns").style.pointerEvents = "none";

function blockVisible(p) {
  const f = state.filters;
  if (f.town && p.town !== f.town) return false;
  if (f.status && p.status !== f.status) return false;
  if (f.mode && (p.mode || "none") !== f.mode) return false;
  return true;
}
function parcelVisible(p) {
  const b = state.blocks.get(p.block);
  if (b && !blockVisible(b)) return false;
  // pass is absent where no 容积率 floor is claimed (rule_basis none): in neither filter
  if (state.filters.compliance === "fail" && p.pass !== false) return false;
  if (state.filters.compliance === "pass" && p.pass !== true) return false;
  return true;
}

const layers = {};
const TILE_LAYERS = ["blocks", "parcels", "buildings"];  // their URLs come from TileJSON (start)
layers.blocks = L.mvtLayer({
  url: "tiles/blocks/{z}/{x}/{y}.mvt", name: "blocks", pane: "blocks", minZoom: 8, maxZoom: 20, nativeMaxZoom: 18,
  filter: blockVisible,
  style: (p, st, zoom) => {
    const c = blockColour(p);
    const detail = zoom >= PARCEL_MIN_ZOOM && map.hasLayer(layers.parcels);
    if (st === "selected") return { fill: c, fillOpacity: detail ? 0.1 : 0.8, ...selected() };
    if (st === "hover") return { fill: c, fillOpacity: detail ? 0.15 : 0.9, stroke: SELECTION.line, width: 3 };
    if (detail) return { fill: c, fillOpacity: 0.08, stroke: c, width: 3 };
    return { fill: c, fillOpacity: 0.75, stroke: zoom < 13 ? c : "#333", width: zoom < 13 ? 2 : 1 };
  },
});
layers.parcels = L.mvtLayer({
  url: "tiles/parcels/{z}/{x}/{y}.mvt", name: "parcels", pane: "parcels", minZoom: PARCEL_MIN_ZOOM, maxZoom: 20,
  nativeMaxZoom: 18, filter: parcelVisible,
  // the 容积率 band fills; failing parcels hatched inside their red outline, passing ones outlined dark blue
  style: (p, st) => {
    const fill = farColour(p.far ?? 0);
    const c = LEGEND.compliance[p.pass === undefined || p.pass === null ? "none" : p.pass ? "pass" : "fail"];
    const hatch = c.hatch ? { hatch: c.hatch, hatchOpacity: 0.55, hatchSpacing: LEGEND.hatch_spacing } : {};
    if (st === "selected") return { fill, fillOpacity: 0.9, ...hatch, ...selected() };
    if (st === "hover") return { fill, fillOpacity: 0.95, ...hatch, stroke: SELECTION.line, width: 2.5 };
    if (st === "marked") return { fill, fillOpacity: 0.9, ...hatch, stroke: JOINT.line, width: 4, casing: JOINT.casing, casingWidth: 6 };
    return { fill, fillOpacity: 0.8, ...hatch, stroke: c.line, width: c.width };
  },
});
/** The outline of the feature whose card is open: the selection colour on a dark casing. */
function selected() {
  return { stroke: SELECTION.colour, width: SELECTION.width, casing: SELECTION.line, casingWidth: SELECTION.width + 3 };
}
layers.buildings = L.mvtLayer({
  url: "tiles/buildings/{z}/{x}/{y}.mvt", name: "buildings", pane: "buildings", minZoom: BUILDING_MIN_ZOOM,
  maxZoom: 20, nativeMaxZoom: 18,
  style: (p) => {
    const b = LEGEND.buildings[p.illegal ? 1 : 0];
    return { fill: b.colour, fillOpacity: p.illegal ? 0.85 : 0.55, stroke: b.line, width: b.width };
  },
});
layers.towns = L.geoJSON(null, {
  pane: "towns", interactive: false,
  style: { color: "#5c5c5c", weight: 1.4, dashArray: "6 4", fill: false },
  onEachFeature: (f, l) => l.bindTooltip(named(f.properties.name), {
    permanent: true, direction: "center", className: "town-label", pane: "tooltipPane", interactive: false }),
});
// ---------------------------------------------------------------- hover, click, cards
const hoverTip = L.tooltip({ direction: "top", offset: [0, -10], className: "hover-tip" });

function parcelAt(latlng) {
  if (!map.hasLayer(layers.parcels) || map.getZoom() < PARCEL_MIN_ZOOM) return null;
  const f = layers.parcels.featureAt(latlng);
  return f ? ["parcel", f] : null;
}

/** What a click at a map position is about: a joint development, a parcel or a block (topmost first). */
function pick(latlng) {
  if (joint.active) return parcelAt(latlng);  // the joint-development mode picks parcels only
  const jd = jointAt(latlng);
  if (jd) return ["joint", jd];
  const parcel = parcelAt(latlng);
  if (parcel) return parcel;
  if (map.hasLayer(layers.blocks)) {
    const f = layers.blocks.featureAt(latlng);
    if (f) return ["block", f];
  }
  return null;
}

function setHover(hit, latlng) {
  layers.blocks.setHover(hit && hit[0] === "block" ? hit[1].key : null);
  layers.parcels.setHover(hit && hit[0] === "parcel" ? hit[1].key : null);
  map.getContainer().style.cursor = hit ? "pointer" : "";
  if (!hit) { map.closeTooltip(hoverTip); return; }
  const p = hit[1].props;
  let html;
  if (hit[0] === "block") {
    html = `<b>${named(p.name)}</b> ${esc(p.code)}<br>${esc(label(STATUS, p.status))} · ${esc(label(MODE, p.mode))}`;
  } else if (hit[0] === "joint") {
    html = `<b>${named(p.name)}</b><br>${t("l_joint")} · ${num(p.area_mu)} ${t("mu")}`;
  } else {
    const verdict = p.pass === undefined || p.pass === null ? t("no_floor") : p.pass ? t("pass") : t("fail");
    html = `<b>${esc(p.code)}</b><br>${t("far")} ${num(p.far)} · ${verdict}`;
    if (joint.active) html += `<br>${t(joint.parcels.has(p.code) ? "j_click_remove" : "j_click_add")}`;
  }
  hoverTip.setLatLng(latlng).setContent(html);
  if (!map.hasLayer(hoverTip)) map.openTooltip(hoverTip);
}

let moveQueued = null;
map.on("mousemove", (e) => {
  if (moveQueued) { moveQueued = e; return; }
  moveQueued = e;
  requestAnimationFrame(() => { const ev = moveQueued; moveQueued = null; setHover(pick(ev.latlng), ev.latlng); });
});
map.on("mouseout", () => setHover(null));
map.on("click", (e) => {
  const hit = pick(e.latlng);
  if (joint.active) pickJointParcel(hit);
  else if (hit) openCard(hit[0], hit[1].props.code);
});

function select(kind, code) {
  layers.blocks.setSelected(kind === "block" ? code : null);
  layers.parcels.setSelected(kind === "parcel" ? code : null);
  highlightJoint(kind === "joint" ? code : null);
}

async function openCard(kind, code) {
  select(kind, code);
  const el = document.getElementById("card");
  el.textContent = t("loading");
  showPanel(true);
  document.getElementById("card-box").scrollIntoView({ block: "nearest" });
  try {
    const data = kind === "joint" ? jointCardData(await getJSON(`api/joint-developments/${code}`))
      : await getJSON(`api/${kind === "block" ? "blocks" : "parcels"}/${encodeURIComponent(code)}/card`);
    state.card = [kind, data];
    renderCard();
  } catch (err) {
    el.textContent = String(err);
  }
}

function taxBadge(wan) {
  if (wan === null || wan === undefined) return "";
  const band = LEGEND.tax_bands.find((b) => b.upper === null || wan < b.upper || (b.upper_included && wan === b.upper));
  return `<span class="badge ${band.tone}">${esc(band[state.lang])}</span>`;
}
function farBadge(pass, floor, basis) {
  if (basis === "none") return `<span class="badge mid">${t("no_floor")}</span>`;
  if (floor === null || floor === undefined) return `<span class="badge mid">${t("lifted")}</span>`;
  return pass ? `<span class="badge good">${t("pass")} ≥ ${num(floor, 1)}</span>`
    : `<span class="badge bad">${t("fail")} &lt; ${num(floor, 1)}</span>`;
}

/** Which minimum 容积率 applies to the parcel and why (rule_basis, docs/rules.md §9.3): the basis, the floor, and
    for the national minimum the firms' industry codes. */
function basisText(d) {
  let text = esc(t(`basis_${d.rule_basis}`));
  if (d.far_min !== null && d.far_min !== undefined) text += ` ${num(d.far_min, 1)}`;
  if (d.rule_basis === "national_industry" && d.industry_codes && d.industry_codes.length) {
    text += ` <small>(${t("industry_code")} ${d.industry_codes.map(esc).join(", ")})</small>`;
  }
  return text;
}

/** A building of the parcel card's "as surveyed" row: its storey heights bottom up, garage storeys above the
    second floor and basement (what counts its floor area storey by storey, docs/planning.md). */
function surveyedText(b, parcel) {
  const code = b.code.startsWith(parcel) && b.code.length > parcel.length ? b.code.slice(parcel.length) : b.code;
  const parts = [];
  if (b.storey_hs) parts.push(`${b.storey_hs.map((h) => esc(String(h))).join(" / ")} ${t("metre")}`);
  if (b.garage_floors > 0) parts.push(esc(t("garage_floors").replace("{n}", num(b.garage_floors, 0))));
  if (b.basement_floors > 0) {
    parts.push(esc(t("basement").replace("{n}", num(b.basement_floors, 0)).replace("{use}", t(`b_${b.basement_use}`))));
  }
  return `<span class="code">${esc(code)}</span> ${parts.join(esc(t("sep")))}`;
}

function renderCard() {
  const el = document.getElementById("card");
  if (!state.card) { el.textContent = t("hint"); return; }
  const [kind, d] = state.card;
  const code = encodeURIComponent(d.code);
  let rows;
  let links;
  if (kind === "block") {
    const swatch = `<span class="swatch" style="background:${STATUS[d.status]?.color || LEGEND.unknown}"></span>`;
    rows = [
      ["town", named(d.town_name)],
      ["status", `${swatch}${esc(label(STATUS, d.status))}`],
      ["mode", esc(label(MODE, d.mode))],
      ["industry", named(d.industry)],
      ["land_area", `${num(d.land_area_mu, 1)} ${t("mu")} <small>(${t("block_area")} ${num(d.block_area_mu, 1)})</small>`],
      ["far", `<b class="far-value">${num(d.far)}</b> ${farBadge(d.far_min === null || d.far >= d.far_min, d.far_min,
        d.in_programme === false ? "none" : undefined)}`],
      ["parcels_failing", `${num(d.parcels_failing, 0)} ${t("of")} ${num(d.parcels, 0)}`],
      ["tax_per_mu", `<b class="tax-value">${num(d.tax_per_mu_wan)}</b> ${t("wan_per_mu")} ${taxBadge(d.tax_per_mu_wan)}`],
      ["above_scale", `<b class="above-value">${num(d.enterprises_above_scale, 0)}</b> <small>(${t("enterprises")} ${num(d.enterprises, 0)})</small>`],
    ];
    if (d.far_exemption_reason) rows.push(["exemption", named(d.far_exemption_reason)]);
    // a download with the tab's token (renewalUI.download): a plain link would carry none
    links = [`<a href="api/blocks/${code}/metrics" target="_blank" rel="noopener">${t("metrics")}</a>`,
      `<a href="api/export?layer=parcels&amp;block=${code}&amp;format=gpkg" class="download">${t("export")}</a>`];
  } else if (kind === "parcel") {
    rows = [
      ["block", `<a href="#" class="open-card" data-kind="block" data-code="${esc(d.block_code)}">${named(d.block_name)}</a> <small>${esc(d.block_code)}</small>`],
      ["town", named(d.town_name)],
      ["owner", named(d.owner)],
      ["land_use", named(d.land_use)],
      ["land_area", `${num(d.land_area_m2, 0)} ${t("m2")} <small>(${num(d.land_area_mu)} ${t("mu")})</small>`],
      ["counted", `${num(d.far_floor_area_m2, 0)} ${t("m2")}`],
      ["far", `<b class="far-value">${num(d.far)}</b> ${farBadge(d.pass, d.far_min, d.rule_basis)}`],
      ["rule_basis", basisText(d)],
      ["shortfall", `<b class="shortfall-value">${num(d.shortfall_m2, 0)}</b> ${t("m2")}`],
      ["buildings", `${num(d.buildings, 0)} <small>(${t("illegal")} ${num(d.illegal_buildings, 0)})</small>`],
      ["enterprises", named(d.enterprise_names)],
      ["tax_per_mu", `${num(d.tax_per_mu_wan)} ${t("wan_per_mu")} ${taxBadge(d.tax_per_mu_wan)}`],
      ["term_end", esc(d.term_end)],
    ];
    if (d.surveyed_buildings && d.surveyed_buildings.length) {
      rows.splice(rows.findIndex(([k]) => k === "buildings") + 1, 0,
        ["surveyed", d.surveyed_buildings.map((b) => surveyedText(b, d.code)).join("<br>")]);
    }
    links = [`<a href="api/parcels/${code}/metrics" target="_blank" rel="noopener">${t("metrics")}</a>`];
  } else {
    [rows, links] = jointCardRows(d);
  }
  links.push(`<a href="#" class="zoom-to">${t("zoom_to")}</a>`);
  el.innerHTML = `<h3 class="card-title" data-kind="${kind}">${kind === "parcel" ? esc(t("parcel")) : named(d.name)}
      <small class="card-code">${esc(d.code)}</small></h3>
    <table>${rows.map(([k, v]) => `<tr data-field="${k}"><th>${t(k)}</th><td>${v}</td></tr>`).join("")}</table>
    <p class="links">${links.join(" · ")}</p>
    <p class="download-state" role="status" hidden></p>
    <p class="rule">${t("rule")}: ${esc(d.rule_version)}</p>`;
  el.querySelector(".zoom-to").addEventListener("click", (ev) => { ev.preventDefault(); zoomTo(d.bbox, kind); });
  el.querySelectorAll("a.download").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault();
    const note = el.querySelector(".download-state");
    renewalUI.download(a.getAttribute("href"), (text) => { note.textContent = text; note.hidden = !text; });
  }));
  el.querySelectorAll(".open-card").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault();
    openCard(a.dataset.kind, a.dataset.code);
  }));
  programmeCard(kind, d, el);
}

// ---------------------------------------------------------------- programme rows of the cards (issue 7)
/** Append the programme's rows to a block card (亩均效益 classes, 十化 score, before/after, overdue steps,
    dossier) or a parcel card (亩均效益 class and flag), from /api/blocks/{code}/programme and
    /api/parcels/{code}/classes. */
async function programmeCard(kind, d, el) {
  if (kind !== "block" && kind !== "parcel") return;
  const code = encodeURIComponent(d.code);
  const rows = [];
  try {
    if (kind === "block") {
      const p = await getJSON(`api/blocks/${code}/programme`);
      const counts = ["A", "B", "C", "D"].map((c) => `${c} ${num(p.class_counts[c], 0)}`).join(" · ");
      rows.push([t("classes"), `${counts} <small>(${t("exit")} ${num(p.exit_parcels, 0)}, ${t("upgrade")} ${num(p.upgrade_parcels, 0)})</small>`]);
      rows.push([t("tenx"), `<b class="tenx-value">${num(p.tenx_score, 1)}</b> / ${num(p.tenx_max, 0)}`
        + (p.proxied ? ` <small>(${t("proxies")} ${num(p.proxied, 0)})</small>` : "")]);
      if (p.plan) {
        rows.push([t("before_after"), `${t("far")} ${num(p.plan.far_before)} → <b>${num(p.plan.far_after)}</b> · `
          + `${num(p.plan.tax_per_mu_wan_before)} → ${num(p.plan.tax_per_mu_wan_after)} ${t("wan_per_mu")} · `
          + `${t("incentives")} ${num(p.plan.incentive_cost_wan, 1)} ${t("wan_yuan")}`]);
      }
      if (p.overdue.length) {  // the step by its code, in the UI's language (the API's title is bilingual)
        rows.push([t("overdue"), `<span class="badge bad">${p.overdue.map((o) => `${esc(stepLabel(o.step))} `
          + `(${esc(t("days_late").replace("{n}", num(o.days_overdue, 0)))})`).join("; ")}</span>`]);
      }
      rows.push(["", `<a href="api/blocks/${code}/dossier.html" target="_blank" rel="noopener">${t("dossier")}</a> · `
        + `<a href="api/blocks/${code}/dossier.pdf" target="_blank" rel="noopener">PDF</a>`]);
    } else {
      const c = await getJSON(`api/parcels/${code}/classes`);
      if (!c.firms.length) return;
      const firms = c.firms.map((f) => `${esc(f.class_used || "—")}${f.class_basis === "indicative" ? "*" : ""}`).join("/");
      const flag = c.flag ? ` <span class="badge ${c.flag === "exit" ? "bad" : "mid"}">${t(c.flag === "exit" ? "exit" : "upgrade")}</span>` : "";
      rows.push([t("class"), `<b class="class-value">${esc(c.worst_class || "—")}</b> <small>(${firms})</small>${flag}`]);
    }
  } catch (err) {
    return;  // the card stands without the programme rows
  }
  if (!state.card || state.card[1].code !== d.code || !el.querySelector("table")) return;
  el.querySelector("table").insertAdjacentHTML("beforeend", rows.map(([k, v]) =>
    `<tr data-field="programme"><th>${esc(k)}</th><td>${v}</td></tr>`).join(""));
}

/** A programme step (surveyed, planned, works, accepted) in the UI's language. */
function stepLabel(step) { return TEXT[state.lang][`step_${step}`] ?? step; }

function zoomTo(bbox, kind) {
  if (!bbox) return;
  map.fitBounds([[bbox[1], bbox[0]], [bbox[3], bbox[2]]], { maxZoom: kind === "block" ? 16 : 18, padding: [30, 30] });
}

// ---------------------------------------------------------------- filters, totals, legend
function refilter() {
  layers.blocks.redraw();
  layers.parcels.redraw();
  loadTotals();
}

let totalsSeq = 0;
async function loadTotals() {
  const seq = ++totalsSeq;
  const params = { ...state.filters };
  if (state.inView) {
    const b = map.getBounds();
    params.bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  }
  try {
    const data = await getJSON(`api/map/totals?${qs(params)}`);
    if (seq !== totalsSeq) return;
    state.totals = data;
    renderTotals();
  } catch (err) {
    console.warn(err);
  }
}

function renderTotals() {
  const d = state.totals;
  const el = document.getElementById("totals");
  if (!d) { el.innerHTML = ""; return; }
  const rows = [
    ["blocks_n", num(d.blocks, 0)],
    ["block_area", `${num(d.block_area_mu, 0)} ${t("mu")}`],
    ["parcels_n", num(d.parcels, 0)],
    ["land_area", `${num(d.land_area_mu, 0)} ${t("mu")}`],
    ["far", num(d.far)],
    ["parcels_failing", num(d.parcels_failing, 0)],
    ["share_failing", d.share_failing === null ? "—" : `${num(100 * d.share_failing, 1)}%`],
    ["failing_land", `${num(d.land_area_failing_mu, 0)} ${t("mu")}`],
    ["shortfall_total", `${num(d.shortfall_m2 / 10000, 1)} ${t("wan_m2")}`],
    ["tax_per_mu", `${num(d.tax_per_mu_wan)} ${t("wan_per_mu")}`],
  ];
  el.innerHTML = rows.map(([k, v]) => `<tr data-field="${k}"><th>${t(k)}</th><td>${v}</td></tr>`).join("");
}

function renderLegend() {
  if (!LEGEND) return;
  const z = map.getZoom();
  const table = state.colourBy === "mode" ? MODE : STATUS;
  const sw = (c, cls = "") => `<span class="swatch ${cls}" style="background:${c}"></span>`;
  const dim = (minZoom) => (z < minZoom ? ` class="dim" title="${minZoom} ${t("from_zoom")}"` : "");
  const { pass, fail, none } = LEGEND.compliance;
  const hatched = `background:repeating-linear-gradient(-45deg,${fail.hatch} 0 1.5px,transparent 1.5px ${LEGEND.hatch_spacing / Math.SQRT2}px),`
    + `${fail.colour};border:2px solid ${fail.line}`;
  document.getElementById("legend").innerHTML = `
    <h4>${t("legend_blocks")} · ${t(state.colourBy)}</h4>
    <ul>${Object.entries(table).map(([, v]) => `<li>${sw(v.color)}${esc(v[state.lang])}</li>`).join("")}</ul>
    <h4${dim(PARCEL_MIN_ZOOM)}>${t("legend_parcels")}</h4>
    <ul${dim(PARCEL_MIN_ZOOM)}>${FAR_BANDS.map((b) => `<li>${sw(b.color)}${esc(b.label)}</li>`).join("")}</ul>
    <ul class="wide${z < PARCEL_MIN_ZOOM ? " dim" : ""}">
      <li data-code="fail"><span class="swatch outlined" style="${hatched}"></span>${t("fails_hatch")}</li>
      <li data-code="pass"><span class="swatch outlined" style="background:${pass.colour};border:2px solid ${pass.line}"></span>${t("passes_outline")}</li>
      <li data-code="none"><span class="swatch outlined" style="background:${none.colour};border:1px solid ${none.line}"></span>${t("no_floor_outline")}</li>
      <li data-code="selected"><span class="swatch outlined" style="background:transparent;border:3px solid ${SELECTION.colour};box-shadow:0 0 0 1.5px ${SELECTION.line}"></span>${t("selected")}</li></ul>
    <h4${dim(BUILDING_MIN_ZOOM)}>${t("legend_buildings")}</h4>
    <ul${dim(BUILDING_MIN_ZOOM)}>${LEGEND.buildings.map((b) => `<li>${sw(b.colour)}${esc(b[state.lang])}</li>`).join("")}</ul>
    ${jointLegend()}
    <ul><li><span class="line-swatch"></span>${t("legend_towns")}</li></ul>`;
}

function fillSelect(id, entries, names = false) {
  const sel = document.getElementById(id);
  const value = sel.value;
  sel.innerHTML = `<option value="">${t("all")}</option>` +
    entries.map(([v, text]) => `<option value="${esc(v)}"${names ? " data-name" : ""}>${esc(text)}</option>`).join("");
  sel.value = value;
}

function renderFilters() {
  fillSelect("f-town", state.towns.map((tw) => [tw.code, tw.name]), true);
  fillSelect("f-status", Object.keys(STATUS).map((k) => [k, label(STATUS, k)]));
  fillSelect("f-mode", Object.keys(MODE).map((k) => [k, label(MODE, k)]));
  const comp = document.getElementById("f-compliance");
  comp.options[0].textContent = t("all");
  comp.options[1].textContent = t("fail_only");
  comp.options[2].textContent = t("pass_only");
}

function render() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.title = `${t("title")} · renewal`;
  document.querySelectorAll("[data-i18n]").forEach((el) => {
    if (el.tagName !== "OPTION") el.textContent = t(el.dataset.i18n);
  });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  renderFilters();
  renderLegend();
  renderTotals();
  renderCard();
  renderJoint();
}

for (const key of ["town", "status", "mode", "compliance"]) {
  document.getElementById(`f-${key}`).addEventListener("change", (e) => {
    state.filters[key] = e.target.value;
    refilter();
    if (key === "town") zoomToTown(e.target.value);
  });
}
/** Fit the map to a town's outline (all towns for none). */
function zoomToTown(code) {
  let bounds = null;
  layers.towns.eachLayer((l) => {
    if (code && l.feature.properties.code !== code) return;
    bounds = bounds ? bounds.extend(l.getBounds()) : L.latLngBounds(l.getBounds().getSouthWest(), l.getBounds().getNorthEast());
  });
  if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20] });
}
document.querySelectorAll('input[name="colour"]').forEach((el) => el.addEventListener("change", (e) => {
  state.colourBy = e.target.value;
  layers.blocks.redraw();
  renderLegend();
}));
document.getElementById("in-view").addEventListener("change", (e) => { state.inView = e.target.checked; loadTotals(); });
for (const name of ["towns", "blocks", "parcels", "buildings", "joint_developments"]) {
  document.getElementById(`l-${name}`).addEventListener("change", (e) => {
    if (e.target.checked) layers[name].addTo(map); else map.removeLayer(layers[name]);
    if (name === "parcels") layers.blocks.redraw();
  });
}
let zoomClass = "";
function onZoom() {
  const cls = map.getZoom() >= ZOOMED_IN ? "zoomed-in" : "";
  if (cls !== zoomClass) { map.getContainer().classList.toggle("zoomed-in", !!cls); zoomClass = cls; }
  renderLegend();
}
map.on("zoomend", onZoom);
map.on("moveend", () => { if (state.inView) loadTotals(); });

// the language is the pages' one (auth.js: the #lang button, localStorage); the map follows it
window.addEventListener("renewal:lang", (e) => {
  state.lang = e.detail;
  render();
  setAttribution();
});
// a login in any part of the page (header, joint panel, download): the open card and the totals are read again,
// with the money figures the account may see
window.addEventListener("renewal:login", () => {
  loadTotals();
  if (state.card && state.card[0] !== "joint") openCard(state.card[0], state.card[1].code);
});

function showPanel(open) {
  const panel = document.getElementById("panel");
  panel.classList.toggle("open", open);
  document.getElementById("panel-toggle").setAttribute("aria-expanded", String(open));
}
document.getElementById("panel-toggle").addEventListener("click", () => {
  showPanel(!document.getElementById("panel").classList.contains("open"));
});

// ---------------------------------------------------------------- search
const searchInput = document.getElementById("search");
const searchList = document.getElementById("search-results");
let searchTimer = null;
let searchSeq = 0;
let searchHits = [];

async function runSearch() {
  const q = searchInput.value.trim();
  const seq = ++searchSeq;
  if (!q) { searchList.hidden = true; return; }
  try {
    const data = await getJSON(`api/search?${qs({ q })}`);
    if (seq !== searchSeq) return;
    searchHits = data.results;
    searchList.innerHTML = searchHits.length
      ? searchHits.map((r, i) => `<li role="option" data-i="${i}"><span class="kind">${t(r.kind)}</span>
          <b>${esc(r.code)}</b> ${named(r.label)} <small>${named(r.town_name)}</small></li>`).join("")
      : `<li class="empty">${t("none_found")}</li>`;
    searchList.hidden = false;
  } catch (err) {
    console.warn(err);
  }
}
function goTo(hit) {
  searchList.hidden = true;
  zoomTo(hit.bbox, hit.kind);
  openCard(hit.kind, hit.code);
}
searchInput.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 200); });
searchInput.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && searchHits.length) goTo(searchHits[0]);
  if (e.key === "Escape") searchList.hidden = true;
});
searchList.addEventListener("click", (e) => {
  const li = e.target.closest("li[data-i]");
  if (li) goTo(searchHits[Number(li.dataset.i)]);
});

let attribution = null;
/** The county outline's source and the note on the towns, in the UI's language. */
function setAttribution() {
  if (attribution) map.attributionControl.removeAttribution(attribution);
  attribution = esc(t("attribution"));
  map.attributionControl.addAttribution(attribution);
}

// ---------------------------------------------------------------- start
window.renewalMap = { map, layers, state, firstPaintMs: null, openCard, taxBadge, legend: () => LEGEND };

async function start() {
  render();
  const [cfg, legend, towns, index, ...tilejson] = await Promise.all([
    getJSON("config.json"),
    getJSON("api/map/legend"),
    getJSON("ogc/collections/towns/items?limit=1000"),
    getJSON("api/map/blocks"),
    ...TILE_LAYERS.map((name) => getJSON(`tiles/${name}.json`)),
  ]);
  useLegend(legend);
  // TileJSON's tile URLs carry the data and rule version: the browser keeps such a tile for good and asks
  // again only when the data change (a new version, a new URL).
  tilejson.forEach((tj, i) => {
    layers[TILE_LAYERS[i]].options.url = `tiles/${TILE_LAYERS[i]}/{z}/{x}/{y}.mvt` +
      (tj.data_version ? `?v=${encodeURIComponent(tj.data_version)}` : "");
  });
  if (cfg.basemap_url) {
    L.tileLayer(cfg.basemap_url, { attribution: cfg.basemap_attribution, maxZoom: 20, maxNativeZoom: 18 }).addTo(map);
  }
  setAttribution();
  for (const b of index.blocks) state.blocks.set(b.code, b);
  state.towns = towns.features.map((f) => ({ code: f.properties.code, name: f.properties.name }))
    .sort((a, b) => a.code.localeCompare(b.code));
  layers.towns.addData(towns);
  if (towns.features.length) map.fitBounds(layers.towns.getBounds(), { padding: [10, 10], animate: false });
  const firstPaint = new Promise((resolve) => layers.blocks.once("load", resolve));
  for (const name of ["blocks", "parcels", "buildings", "joint_developments", "towns"]) layers[name].addTo(map);
  const jointLoaded = loadJointLayer();
  onZoom();
  render();
  loadTotals();
  await firstPaint;
  window.renewalMap.firstPaintMs = performance.now();
  await jointLoaded;
  document.body.dataset.ready = "1";
}
document.addEventListener("DOMContentLoaded", () => start().catch((err) => {
  document.getElementById("card").textContent = String(err);
  console.error(err);
}));
