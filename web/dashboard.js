/* The programme's progress dashboard: targets, per-town bars, a time line, modes, years, overdue blocks.
   Charts are plain SVG drawn here (no library, no CDN), each with its key; data from this app's own API with
   relative URLs. Colours, status and mode labels and the 亩均税收 target come from api/map/legend
   (app/planning/legend.py), the other targets from the progress itself: none is hard-coded here.
   One language at a time (auth.js: window.renewalUI, the #lang button): every text is this file's, in the
   UI's language, also for what the API labels bilingually (targets, overdue steps); names from the data
   (towns, blocks) are marked data-name. Numbers are grouped in the UI's locale. */
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const TEXT = {
  zh: {
    title: "慈溪市老旧工业区块改造提升 · 进度", page_title: "改造提升进度 · 慈溪市老旧工业区块", map: "地图",
    as_of: "数据截至", city_report: "全市报告", loading: "加载中…", targets: "2026 目标", per_town: "各镇街",
    per_town_note: "已改造与实施中，亩", timeline: "时间线", timeline_note: "累计已改造面积（亩，季度末）",
    by_mode: "按改造路径", by_mode_note: "已改造 / 区块总面积，亩", by_year: "按年度", overdue: "逾期区块",
    towns: "镇街明细与报告",
    t_area_mu: "改造提升老旧工业区块面积", t_new_above_scale: "改造区块新增规上工业企业",
    t_tax_per_mu_wan: "改造区块亩均税收", u_mu: "亩", u_firms: "家", u_wan_per_mu: "万元/亩",
    target: "目标", met: "已达标", not_met: "未达标",
    k_renovated: "已改造", k_progress: "实施中", k_planned: "其余（尚未实施）", k_line: "累计已改造面积",
    k_target: "2026 目标", target_line: "目标 {v} 亩", target_off: "目标 {v} 亩（超出纵轴）", no_blocks: "无区块",
    bar_title: "{town}：已改造 {a} 亩，实施中 {b} 亩",
    y_year: "年度", y_planned_blocks: "计划区块", y_planned: "计划 亩", y_done: "完成 亩", y_cumulative: "累计 亩",
    o_town: "镇街", o_block: "区块", o_status: "状态", o_steps: "逾期事项", o_days: "天数", o_none: "无逾期区块",
    step_surveyed: "排查", step_planned: "方案审批", step_works: "实施完成", step_accepted: "验收",
    w_town: "镇街", w_blocks: "区块", w_renovated: "已改造 亩", w_progress: "实施中 亩", w_new: "新增规上",
    w_tax: "亩均税收 万元/亩", w_overdue: "逾期", w_reports: "报告",
    basis: "数据截至 {as_of}；已改造 = {statuses}；面积口径 {area}；实施中 {n} 个区块 {mu} 亩另计；"
      + "无历史记录区块 {undated} 个（按当前状态计）；无基准年的规上企业 {unknown} 家（不计为新增）。",
    area_block: "区块范围", area_parcels: "宗地用地", join: "、",
    source: "口径：《慈溪市老旧工业区块改造提升攻坚行动计划（2022-2026）》2026 目标：{targets}。"
      + "亩均税收为 Σ 税收 ÷ Σ 亩。计为“已改造”的状态与面积口径可配置；无历史记录的区块按当前状态计。镇街范围为示意。",

  },
  en: {
    title: "Cixi old industrial blocks · progress", page_title: "Renovation progress · Cixi old industrial blocks",
    map: "Map", as_of: "Data as of", city_report: "City report", loading: "Loading…", targets: "2026 targets",
    per_town: "Per town", per_town_note: "renovated and in progress, mu", timeline: "Time line",
    timeline_note: "cumulative renovated area (mu, quarter ends)", by_mode: "By mode",
    by_mode_note: "renovated / all blocks, mu", by_year: "By year", overdue: "Overdue blocks",
    towns: "Towns and their reports",
    t_area_mu: "Renovated area of old industrial blocks", t_new_above_scale: "New above-scale firms in renovated blocks",
    t_tax_per_mu_wan: "Tax per mu of renovated blocks", u_mu: "mu", u_firms: "firms", u_wan_per_mu: "10k yuan/mu",
    target: "Target", met: "met", not_met: "not met",
    k_renovated: "Renovated", k_progress: "In progress", k_planned: "Not started",
    k_line: "Cumulative renovated area", k_target: "2026 target", target_line: "target {v} mu",
    target_off: "target {v} mu (above the axis)", no_blocks: "no blocks",
    bar_title: "{town}: renovated {a} mu, in progress {b} mu",
    y_year: "Year", y_planned_blocks: "Blocks planned", y_planned: "Planned mu", y_done: "Done mu",
    y_cumulative: "Cumulative mu", o_town: "Town", o_block: "Block", o_status: "Status", o_steps: "Overdue",
    o_days: "Days", o_none: "No overdue block",
    step_surveyed: "survey", step_planned: "plan approval", step_works: "works finished", step_accepted: "acceptance",
    w_town: "Town", w_blocks: "Blocks", w_renovated: "Renovated mu", w_progress: "In progress mu",
    w_new: "New above-scale", w_tax: "Tax per mu, 10k yuan", w_overdue: "Overdue", w_reports: "Reports",
    basis: "Data as of {as_of}; renovated = {statuses}; area basis: {area}; {n} blocks in progress with {mu} mu "
      + "counted apart; {undated} blocks without history (counted by their current status); {unknown} above-scale "
      + "firms without a baseline year (not counted as new).",
    area_block: "block outlines", area_parcels: "parcel land", join: ", ",
    source: "Basis: the Cixi action plan for the renovation of old industrial blocks (2022–2026), 2026 targets: "
      + "{targets}. Tax per mu is Σ tax ÷ Σ mu. Which statuses count as renovated and the area basis are settings; "
      + "blocks without history count by their current status. Town areas are synthetic.",

  },
};
const UNITS = { "亩": "u_mu", firms: "u_firms", "万元/亩": "u_wan_per_mu" };  // the API's units -> text keys

let COLOURS = {};    // renovated, progress, short, target, planned: legend.charts
let STATUS = {};     // status code -> {zh, en}: legend.statuses
let MODE = {};       // mode code -> {zh, en}: legend.modes ("none": not decided)
let legendLoaded = null;
let shown = null;    // [progress, overdue, asOf] last drawn: drawn again on a language switch

function lang() { return renewalUI.lang(); }
function t(key) { return TEXT[lang()][key] ?? key; }
function fill(text, values) { return text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m)); }
function esc(v) {
  return String(v ?? "—").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
/** A number grouped in the UI's locale with ``digits`` decimals (1 unless told). */
function num(v, digits = 1) { return renewalUI.num(v, digits); }
function pct(v) { return v === null || v === undefined ? "—" : `${num(v * 100, 1)}%`; }
function named(v) { return `<span data-name>${esc(v)}</span>`; }
function label(table, code) { return table[code || "none"] ? table[code || "none"][lang()] : (code ?? "—"); }
function unit(u) { return UNITS[u] ? t(UNITS[u]) : u; }

function loadLegend() {
  legendLoaded ??= getJSON("api/map/legend").then((legend) => {
    COLOURS = legend.charts;
    const table = (items) => Object.fromEntries(items.map((s) => [s.code, { zh: s.zh, en: s.en }]));
    STATUS = table(legend.statuses);
    MODE = table(legend.modes);
  }).catch((err) => { legendLoaded = null; throw err; });
  return legendLoaded;
}

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function svg(width, height) { return el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" }); }
async function getJSON(url) {
  const resp = await fetch(url);
  if (!resp.ok) {
    const body = await resp.json().catch(() => ({}));
    throw new Error(renewalUI.apiMessage(body, resp));
  }
  return resp.json();
}
/** The width a chart's label needs at 11 px (CJK characters about a square, others about half). */
function labelWidth(texts) {
  const w = (s) => [...String(s)].reduce((n, c) => n + (/[\u2e80-\uffef]/.test(c) ? 11.5 : 6.3), 0);
  return Math.ceil(Math.max(40, ...texts.map(w))) + 10;
}
function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

/** A chart's key: [{colour, text, kind}] with kind "box" (a bar), "line" or "dash" (a dashed line). */
function renderKey(id, entries) {
  document.getElementById(id).innerHTML = entries.map((e) => `<li data-colour="${esc(e.colour)}">`
    + `<span class="${e.kind || "box"}" style="${e.kind === "line" || e.kind === "dash" ? "border-top-color" : "background"}:${e.colour}">`
    + `</span>${esc(e.text)}</li>`).join("");
}

// ---------------------------------------------------------------- targets: three progress bars
function renderTargets(city) {
  const box = document.getElementById("targets");
  box.innerHTML = "";
  for (const tg of city.targets) {
    const digits = tg.unit === "firms" ? 0 : tg.unit === "亩" ? 1 : 2;
    const card = document.createElement("div");
    card.className = "target";
    card.dataset.key = tg.key;
    card.innerHTML = `<div class="title">${esc(t(`t_${tg.key}`))}</div>
      <div class="value">${num(tg.value, digits)} <small>${esc(unit(tg.unit))}</small></div>
      <div class="sub">${t("target")} ${num(tg.target, tg.unit === "万元/亩" ? 1 : 0)} ${esc(unit(tg.unit))} · ${pct(tg.share)}
        ${tg.met ? `<span class="good">${t("met")}</span>` : `<span class="bad">${t("not_met")}</span>`}</div>`;
    const bar = svg(300, 16);
    bar.appendChild(el("rect", { x: 0, y: 3, width: 300, height: 10, rx: 5, fill: "#e6e6e6" }));
    const share = Math.max(0, Math.min(1, tg.share || 0));
    bar.appendChild(el("rect", { class: "fill", x: 0, y: 3, width: (300 * share).toFixed(1), height: 10, rx: 5,
      fill: tg.met ? COLOURS.renovated : COLOURS.short }));
    card.appendChild(bar);
    box.appendChild(card);
  }
}

// ---------------------------------------------------------------- per-town stacked bars
function renderTowns(towns) {
  const rows = towns.filter((tw) => tw.blocks > 0)
    .sort((a, b) => (b.renovated_area_mu + b.in_progress_area_mu) - (a.renovated_area_mu + a.in_progress_area_mu));
  const box = document.getElementById("towns-chart");
  box.innerHTML = "";
  const rowH = 22, left = labelWidth(rows.map((tw) => tw.town_name)), right = 90, width = 560;
  const height = Math.max(1, rows.length) * rowH + 24;
  const max = niceMax(Math.max(0, ...rows.map((tw) => tw.renovated_area_mu + tw.in_progress_area_mu)));
  const scale = (width - left - right) / max;
  const chart = svg(width, height);
  for (let i = 0; i <= 4; i++) {
    const x = left + (width - left - right) * i / 4;
    chart.appendChild(el("line", { class: "grid", x1: x, x2: x, y1: 0, y2: height - 18 }));
    chart.appendChild(el("text", { x, y: height - 4, "text-anchor": "middle" }, num(max * i / 4, 0)));
  }
  rows.forEach((tw, i) => {
    const y = i * rowH + 4;
    const g = el("g", { "data-town": tw.town_code });
    g.appendChild(el("text", { x: left - 6, y: y + 13, "text-anchor": "end", "data-name": "" }, tw.town_name));
    const w1 = tw.renovated_area_mu * scale, w2 = tw.in_progress_area_mu * scale;
    g.appendChild(el("rect", { x: left, y, width: w1.toFixed(1), height: rowH - 6, fill: COLOURS.renovated }));
    g.appendChild(el("rect", { x: (left + w1).toFixed(1), y, width: w2.toFixed(1), height: rowH - 6, fill: COLOURS.progress }));
    g.appendChild(el("text", { x: (left + w1 + w2 + 4).toFixed(1), y: y + 13 },
      `${num(tw.renovated_area_mu, 0)} + ${num(tw.in_progress_area_mu, 0)}`));
    g.appendChild(el("title", {}, fill(t("bar_title"), { town: tw.town_name, a: num(tw.renovated_area_mu),
      b: num(tw.in_progress_area_mu) })));
    chart.appendChild(g);
  });
  if (!rows.length) chart.appendChild(el("text", { x: 10, y: 16 }, t("no_blocks")));
  box.appendChild(chart);
  renderKey("towns-key", [{ colour: COLOURS.renovated, text: t("k_renovated") },
    { colour: COLOURS.progress, text: t("k_progress") }]);
}

// ---------------------------------------------------------------- time line: cumulative renovated area
function renderTimeline(points, target) {
  const box = document.getElementById("timeline-chart");
  box.innerHTML = "";
  const width = 560, height = 200, left = 56, right = 12, top = 12, bottom = 24;
  const reached = Math.max(0, ...points.map((p) => p.renovated_area_mu));
  const max = niceMax(Math.max(reached * 1.1, Math.min(target, reached * 4 || target)));
  const x = (i) => left + (width - left - right) * (points.length > 1 ? i / (points.length - 1) : 0);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const chart = svg(width, height);
  for (let i = 0; i <= 4; i++) {
    const v = max * i / 4;
    chart.appendChild(el("line", { class: "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }));
    chart.appendChild(el("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, num(v, 0)));
  }
  chart.appendChild(el("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }));
  if (target <= max) {
    chart.appendChild(el("line", { class: "target-line", x1: left, x2: width - right, y1: y(target), y2: y(target),
      stroke: COLOURS.target, "stroke-dasharray": "5 4" }));
    chart.appendChild(el("text", { x: width - right, y: y(target) - 4, "text-anchor": "end", fill: COLOURS.target },
      fill(t("target_line"), { v: num(target, 0) })));
  } else {
    chart.appendChild(el("text", { x: width - right, y: top + 10, "text-anchor": "end" },
      fill(t("target_off"), { v: num(target, 0) })));
  }
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.renovated_area_mu).toFixed(1)}`).join(" ");
  chart.appendChild(el("path", { class: "line", d: path, fill: "none", stroke: COLOURS.renovated, "stroke-width": 2.5 }));
  points.forEach((p, i) => {
    if (p.date.endsWith("-12-31") || i === points.length - 1) {
      chart.appendChild(el("text", { x: x(i), y: height - 6, "text-anchor": "middle" }, p.date.slice(0, 4)));
    }
  });
  box.appendChild(chart);
  renderKey("timeline-key", [{ colour: COLOURS.renovated, text: t("k_line"), kind: "line" },
    { colour: COLOURS.target, text: t("k_target"), kind: "dash" }]);
}

// ---------------------------------------------------------------- by mode
function renderModes(modes) {
  const box = document.getElementById("modes-chart");
  box.innerHTML = "";
  const rowH = 22, left = labelWidth(modes.map((m) => label(MODE, m.mode))), right = 90, width = 560;
  const height = modes.length * rowH + 6;
  const max = niceMax(Math.max(0, ...modes.map((m) => m.area_mu)));
  const scale = (width - left - right) / max;
  const chart = svg(width, height);
  modes.forEach((m, i) => {
    const y = i * rowH + 3;
    const g = el("g", { "data-mode": m.mode });
    g.appendChild(el("text", { x: left - 6, y: y + 13, "text-anchor": "end" }, label(MODE, m.mode)));
    g.appendChild(el("rect", { x: left, y, width: (m.area_mu * scale).toFixed(1), height: rowH - 6, fill: COLOURS.planned }));
    g.appendChild(el("rect", { x: left, y, width: (m.renovated_area_mu * scale).toFixed(1), height: rowH - 6, fill: COLOURS.renovated }));
    g.appendChild(el("rect", { x: (left + m.renovated_area_mu * scale).toFixed(1), y,
      width: (m.in_progress_area_mu * scale).toFixed(1), height: rowH - 6, fill: COLOURS.progress }));
    g.appendChild(el("text", { x: (left + m.area_mu * scale + 4).toFixed(1), y: y + 13 },
      `${num(m.renovated_area_mu, 0)} / ${num(m.area_mu, 0)}`));
    chart.appendChild(g);
  });
  box.appendChild(chart);
  renderKey("modes-key", [{ colour: COLOURS.renovated, text: t("k_renovated") },
    { colour: COLOURS.progress, text: t("k_progress") }, { colour: COLOURS.planned, text: t("k_planned") }]);
}

// ---------------------------------------------------------------- tables
function renderYears(years) {
  document.getElementById("years").innerHTML = `<tr><th>${t("y_year")}</th><th class="n">${t("y_planned_blocks")}</th>
    <th class="n">${t("y_planned")}</th><th class="n">${t("y_done")}</th><th class="n">${t("y_cumulative")}</th></tr>`
    + years.map((y) => `<tr><td>${y.year}</td>
    <td class="n">${num(y.planned_blocks, 0)}</td><td class="n">${num(y.planned_area_mu)}</td><td class="n">${num(y.renovated_area_mu)}</td>
    <td class="n">${num(y.cumulative_renovated_area_mu)}</td></tr>`).join("");
}

function renderOverdue(towns) {
  const rows = towns.flatMap((tw) => tw.blocks.map((b) => ({ town: tw.town_name, ...b })));
  const step = (s) => t(`step_${s.step}`);  // the step by its code: the API's title is bilingual
  document.getElementById("overdue").innerHTML = rows.length
    ? `<tr><th>${t("o_town")}</th><th>${t("o_block")}</th><th>${t("o_status")}</th><th>${t("o_steps")}</th>`
      + `<th class="n">${t("o_days")}</th></tr>` + rows.map((b) => `<tr data-block="${esc(b.code)}">
      <td>${named(b.town)}</td><td><a href="api/blocks/${encodeURIComponent(b.code)}/dossier.html" target="_blank" rel="noopener">${esc(b.code)}</a> ${named(b.name)}</td>
      <td>${esc(label(STATUS, b.status_at))}</td><td class="bad">${b.steps.map((s) => esc(step(s))).join(t("join"))}</td>
      <td class="n">${num(b.steps[0].days_overdue, 0)}</td></tr>`).join("")
    : `<tr><td>${t("o_none")}</td></tr>`;
}

function renderTownTable(towns, asOf) {
  const q = asOf ? `?as_of=${asOf}` : "";
  document.getElementById("towns").innerHTML = `<tr><th>${t("w_town")}</th><th class="n">${t("w_blocks")}</th>
    <th class="n">${t("w_renovated")}</th><th class="n">${t("w_progress")}</th><th class="n">${t("w_new")}</th>
    <th class="n">${t("w_tax")}</th><th class="n">${t("w_overdue")}</th><th>${t("w_reports")}</th></tr>` +
    towns.filter((tw) => tw.blocks > 0).map((tw) => `<tr data-town="${esc(tw.town_code)}"><td>${named(tw.town_name)} <span class="note code">${esc(tw.town_code)}</span></td>
      <td class="n">${num(tw.blocks, 0)}</td><td class="n">${num(tw.renovated_area_mu)}</td><td class="n">${num(tw.in_progress_area_mu)}</td>
      <td class="n">${num(tw.new_above_scale_firms, 0)}</td><td class="n">${num(tw.renovated_tax_per_mu_wan, 2)}</td>
      <td class="n ${tw.overdue_blocks ? "bad" : ""}">${num(tw.overdue_blocks, 0)}</td>
      <td><a href="api/programme/towns/${encodeURIComponent(tw.town_code)}/report.html${q}" target="_blank" rel="noopener">HTML</a> ·
        <a href="api/programme/towns/${encodeURIComponent(tw.town_code)}/report.pdf${q}" target="_blank" rel="noopener">PDF</a></td></tr>`).join("");
}

// ---------------------------------------------------------------- the page
function renderStatic() {
  document.title = t("page_title");
  document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
}

function draw() {
  renderStatic();
  if (!shown) return;
  const [progress, overdue, asOf] = shown;
  const city = progress.city;
  document.getElementById("versions").textContent = `${progress.programme_version} · ${progress.rule_version}`;
  document.getElementById("basis").textContent = fill(t("basis"), {
    as_of: progress.as_of, statuses: progress.renovated_statuses.map((s) => label(STATUS, s)).join(t("join")),
    area: t(progress.area_basis === "block" ? "area_block" : "area_parcels"), n: num(city.in_progress_blocks, 0),
    mu: num(city.in_progress_area_mu), undated: num(city.undated_blocks, 0), unknown: num(city.unknown_baseline_firms, 0),
  });
  document.getElementById("source").textContent = fill(t("source"), {
    targets: city.targets.map((tg) => `${t(`t_${tg.key}`)} ${num(tg.target, tg.unit === "万元/亩" ? 1 : 0)} ${unit(tg.unit)}`)
      .join(t("join")),
  });
  renderTargets(city);
  renderTowns(progress.towns);
  renderTimeline(progress.timeline, city.targets.find((tg) => tg.key === "area_mu").target);
  renderModes(progress.by_mode);
  renderYears(progress.by_year);
  renderOverdue(overdue);
  renderTownTable(progress.towns, asOf);
}

async function load() {
  const asOf = document.getElementById("as-of").value;
  const q = asOf ? `?as_of=${asOf}` : "";
  const status = document.getElementById("status");
  status.textContent = t("loading");
  try {
    const [progress, overdue] = await Promise.all([getJSON(`api/programme/progress${q}`), getJSON(`api/programme/overdue${q}`),
      loadLegend()]);
    if (!asOf) document.getElementById("as-of").value = progress.as_of;
    document.getElementById("city-html").href = `api/programme/report.html${q}`;
    document.getElementById("city-pdf").href = `api/programme/report.pdf${q}`;
    shown = [progress, overdue, asOf];
    draw();
    status.textContent = "";
  } catch (err) {
    status.textContent = err.message || String(err);
  }
  document.body.dataset.ready = "1";
}

document.getElementById("as-of").addEventListener("change", load);
window.addEventListener("renewal:lang", draw);
window.addEventListener("renewal:login", load);  // what the account may see
load();
