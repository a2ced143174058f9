/* The programme's progress dashboard: targets, per-town bars, a time line, modes, years, overdue blocks.
   Charts are plain SVG drawn here (no library, no CDN); data from this app's own API with relative URLs.
   Colours, status labels and the 亩均税收 target come from api/map/legend (app/planning/legend.py): none is
   hard-coded here. */
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let COLOURS = {};    // renovated, progress, short, target, planned: legend.charts
let STATUS_ZH = {};  // status code -> Chinese label: legend.statuses
let legendLoaded = null;
function loadLegend() {
  legendLoaded ??= getJSON("api/map/legend").then((legend) => {
    COLOURS = legend.charts;
    STATUS_ZH = Object.fromEntries(legend.statuses.map((s) => [s.code, s.zh]));
    const target = legend.thresholds.target_tax_per_mu_wan;
    document.getElementById("target-tax").textContent = num(target, Number.isInteger(target) ? 0 : 1);
  }).catch((err) => { legendLoaded = null; throw err; });
  return legendLoaded;
}

function esc(v) {
  return String(v ?? "—").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function num(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return Number(v).toLocaleString("zh-CN", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
function pct(v) { return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`; }
function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function svg(width, height) { return el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" }); }
async function getJSON(url) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
  return resp.json();
}
function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

// ---------------------------------------------------------------- targets: three progress bars
function renderTargets(city) {
  const box = document.getElementById("targets");
  box.innerHTML = "";
  for (const t of city.targets) {
    const digits = t.unit === "firms" ? 0 : t.unit === "亩" ? 1 : 2;
    const card = document.createElement("div");
    card.className = "target";
    card.dataset.key = t.key;
    card.innerHTML = `<div class="title">${esc(t.title)}</div>
      <div class="value">${num(t.value, digits)} <small>${esc(t.unit)}</small></div>
      <div class="sub">目标 ${num(t.target, t.unit === "万元/亩" ? 1 : 0)} ${esc(t.unit)} · ${pct(t.share)}
        ${t.met ? '<span class="good">已达标</span>' : '<span class="bad">未达标</span>'}</div>`;
    const bar = svg(300, 16);
    bar.appendChild(el("rect", { x: 0, y: 3, width: 300, height: 10, rx: 5, fill: "#e6e6e6" }));
    const share = Math.max(0, Math.min(1, t.share || 0));
    bar.appendChild(el("rect", { class: "fill", x: 0, y: 3, width: (300 * share).toFixed(1), height: 10, rx: 5,
      fill: t.met ? COLOURS.renovated : COLOURS.short }));
    card.appendChild(bar);
    box.appendChild(card);
  }
}

// ---------------------------------------------------------------- per-town stacked bars
function renderTowns(towns) {
  const rows = towns.filter((t) => t.blocks > 0)
    .sort((a, b) => (b.renovated_area_mu + b.in_progress_area_mu) - (a.renovated_area_mu + a.in_progress_area_mu));
  const box = document.getElementById("towns-chart");
  box.innerHTML = "";
  const rowH = 22, left = 110, right = 90, width = 560, height = Math.max(1, rows.length) * rowH + 24;
  const max = niceMax(Math.max(0, ...rows.map((t) => t.renovated_area_mu + t.in_progress_area_mu)));
  const scale = (width - left - right) / max;
  const chart = svg(width, height);
  for (let i = 0; i <= 4; i++) {
    const x = left + (width - left - right) * i / 4;
    chart.appendChild(el("line", { class: "grid", x1: x, x2: x, y1: 0, y2: height - 18 }));
    chart.appendChild(el("text", { x, y: height - 4, "text-anchor": "middle" }, num(max * i / 4, 0)));
  }
  rows.forEach((t, i) => {
    const y = i * rowH + 4;
    const g = el("g", { "data-town": t.town_code });
    g.appendChild(el("text", { x: left - 6, y: y + 13, "text-anchor": "end" }, t.town_name));
    const w1 = t.renovated_area_mu * scale, w2 = t.in_progress_area_mu * scale;
    g.appendChild(el("rect", { x: left, y, width: w1.toFixed(1), height: rowH - 6, fill: COLOURS.renovated }));
    g.appendChild(el("rect", { x: (left + w1).toFixed(1), y, width: w2.toFixed(1), height: rowH - 6, fill: COLOURS.progress }));
    g.appendChild(el("text", { x: (left + w1 + w2 + 4).toFixed(1), y: y + 13 },
      `${num(t.renovated_area_mu, 0)} + ${num(t.in_progress_area_mu, 0)}`));
    g.appendChild(el("title", {}, `${t.town_name}: 已改造 ${num(t.renovated_area_mu)} 亩，实施中 ${num(t.in_progress_area_mu)} 亩`));
    chart.appendChild(g);
  });
  if (!rows.length) chart.appendChild(el("text", { x: 10, y: 16 }, "无区块 no blocks"));
  box.appendChild(chart);
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
    chart.appendChild(el("line", { x1: left, x2: width - right, y1: y(target), y2: y(target), stroke: COLOURS.target,
      "stroke-dasharray": "5 4" }));
    chart.appendChild(el("text", { x: width - right, y: y(target) - 4, "text-anchor": "end", fill: COLOURS.target }, `目标 ${num(target, 0)} 亩`));
  } else {
    chart.appendChild(el("text", { x: width - right, y: top + 10, "text-anchor": "end" }, `目标 ${num(target, 0)} 亩（超出纵轴）`));
  }
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.renovated_area_mu).toFixed(1)}`).join(" ");
  chart.appendChild(el("path", { class: "line", d: path, fill: "none", stroke: COLOURS.renovated, "stroke-width": 2.5 }));
  points.forEach((p, i) => {
    if (p.date.endsWith("-12-31") || i === points.length - 1) {
      chart.appendChild(el("text", { x: x(i), y: height - 6, "text-anchor": "middle" }, p.date.slice(0, 4)));
    }
  });
  box.appendChild(chart);
}

// ---------------------------------------------------------------- by mode
function renderModes(modes) {
  const box = document.getElementById("modes-chart");
  box.innerHTML = "";
  const rowH = 22, left = 110, right = 70, width = 560, height = modes.length * rowH + 6;
  const max = niceMax(Math.max(0, ...modes.map((m) => m.area_mu)));
  const scale = (width - left - right) / max;
  const chart = svg(width, height);
  modes.forEach((m, i) => {
    const y = i * rowH + 3;
    chart.appendChild(el("text", { x: left - 6, y: y + 13, "text-anchor": "end" }, m.mode_zh));
    chart.appendChild(el("rect", { x: left, y, width: (m.area_mu * scale).toFixed(1), height: rowH - 6, fill: COLOURS.planned }));
    chart.appendChild(el("rect", { x: left, y, width: (m.renovated_area_mu * scale).toFixed(1), height: rowH - 6, fill: COLOURS.renovated }));
    chart.appendChild(el("rect", { x: (left + m.renovated_area_mu * scale).toFixed(1), y,
      width: (m.in_progress_area_mu * scale).toFixed(1), height: rowH - 6, fill: COLOURS.progress }));
    chart.appendChild(el("text", { x: (left + m.area_mu * scale + 4).toFixed(1), y: y + 13 },
      `${num(m.renovated_area_mu, 0)} / ${num(m.area_mu, 0)}`));
  });
  box.appendChild(chart);
}

// ---------------------------------------------------------------- tables
function renderYears(years) {
  document.getElementById("years").innerHTML = `<tr><th>年度</th><th class="n">计划区块</th><th class="n">计划 亩</th>
    <th class="n">完成 亩</th><th class="n">累计 亩</th></tr>` + years.map((y) => `<tr><td>${y.year}</td>
    <td class="n">${y.planned_blocks}</td><td class="n">${num(y.planned_area_mu)}</td><td class="n">${num(y.renovated_area_mu)}</td>
    <td class="n">${num(y.cumulative_renovated_area_mu)}</td></tr>`).join("");
}

function renderOverdue(towns) {
  const rows = towns.flatMap((t) => t.blocks.map((b) => ({ town: t.town_name, ...b })));
  document.getElementById("overdue").innerHTML = rows.length
    ? `<tr><th>镇街</th><th>区块</th><th>状态</th><th>逾期事项</th><th class="n">天数</th></tr>` + rows.map((b) => `<tr data-block="${esc(b.code)}">
      <td>${esc(b.town)}</td><td><a href="api/blocks/${encodeURIComponent(b.code)}/dossier.html" target="_blank" rel="noopener">${esc(b.code)}</a> ${esc(b.name)}</td>
      <td>${esc(STATUS_ZH[b.status_at] || b.status_at)}</td><td class="bad">${b.steps.map((s) => esc(s.title)).join("; ")}</td>
      <td class="n">${b.steps[0].days_overdue}</td></tr>`).join("")
    : "<tr><td>无逾期区块 none</td></tr>";
}

function renderTownTable(towns, asOf) {
  const q = asOf ? `?as_of=${asOf}` : "";
  document.getElementById("towns").innerHTML = `<tr><th>镇街</th><th class="n">区块</th><th class="n">已改造 亩</th>
    <th class="n">实施中 亩</th><th class="n">新增规上</th><th class="n">亩均税收 万元/亩</th><th class="n">逾期</th><th>报告</th></tr>` +
    towns.filter((t) => t.blocks > 0).map((t) => `<tr data-town="${esc(t.town_code)}"><td>${esc(t.town_name)} <span class="note">${esc(t.town_code)}</span></td>
      <td class="n">${t.blocks}</td><td class="n">${num(t.renovated_area_mu)}</td><td class="n">${num(t.in_progress_area_mu)}</td>
      <td class="n">${t.new_above_scale_firms}</td><td class="n">${num(t.renovated_tax_per_mu_wan, 2)}</td>
      <td class="n ${t.overdue_blocks ? "bad" : ""}">${t.overdue_blocks}</td>
      <td><a href="api/programme/towns/${encodeURIComponent(t.town_code)}/report.html${q}" target="_blank" rel="noopener">HTML</a> ·
        <a href="api/programme/towns/${encodeURIComponent(t.town_code)}/report.pdf${q}" target="_blank" rel="noopener">PDF</a></td></tr>`).join("");
}

// ---------------------------------------------------------------- load
async function load() {
  const asOf = document.getElementById("as-of").value;
  const q = asOf ? `?as_of=${asOf}` : "";
  const status = document.getElementById("status");
  status.textContent = "加载中… loading";
  try {
    const [progress, overdue] = await Promise.all([getJSON(`api/programme/progress${q}`), getJSON(`api/programme/overdue${q}`),
      loadLegend()]);
    if (!asOf) document.getElementById("as-of").value = progress.as_of;
    document.getElementById("city-html").href = `api/programme/report.html${q}`;
    document.getElementById("city-pdf").href = `api/programme/report.pdf${q}`;
    document.getElementById("versions").textContent = `${progress.programme_version} · ${progress.rule_version}`;
    document.getElementById("basis").textContent = `数据截至 ${progress.as_of}；已改造 = ${progress.renovated_statuses.map((s) => STATUS_ZH[s] || s).join("、")}；`
      + `面积口径 ${progress.area_basis === "block" ? "区块范围" : "宗地用地"}；实施中 ${progress.city.in_progress_blocks} 个区块 ${num(progress.city.in_progress_area_mu)} 亩另计；`
      + `无历史记录区块 ${progress.city.undated_blocks} 个（按当前状态计）；无基准年的规上企业 ${progress.city.unknown_baseline_firms} 家（不计为新增）。`;
    renderTargets(progress.city);
    renderTowns(progress.towns);
    renderTimeline(progress.timeline, progress.city.targets.find((t) => t.key === "area_mu").target);
    renderModes(progress.by_mode);
    renderYears(progress.by_year);
    renderOverdue(overdue);
    renderTownTable(progress.towns, asOf);
    status.textContent = "";
  } catch (err) {
    status.textContent = String(err);
  }
  document.body.dataset.ready = "1";
}

document.getElementById("as-of").addEventListener("change", load);
load();
