/* The planners' map: towns, blocks coloured by programme status, parcels at high zoom.
   Every request goes to this app's own origin (relative URLs); a basemap only when configured. */
"use strict";

const STATUS = {
  listed: { zh: "已列入", en: "Listed", color: "#9e9e9e" },
  surveyed: { zh: "已排查", en: "Surveyed", color: "#fdd835" },
  planned: { zh: "方案已批", en: "Plan approved", color: "#fb8c00" },
  in_progress: { zh: "实施中", en: "In progress", color: "#1e88e5" },
  accepted: { zh: "已验收", en: "Accepted", color: "#43a047" },
};
const MODE = {
  demolition: { zh: "全部拆除式改造", en: "Full demolition" },
  sorting: { zh: "梳理式改造", en: "Sorting and upgrading" },
  management: { zh: "管理提升式改造", en: "Management improvement" },
};
const TEXT = {
  zh: { title: "慈溪市老旧工业区块改造提升", legend: "图例", details: "详情", hint: "点击区块或宗地查看详情",
        code: "编号", name: "名称", town: "镇街", status: "实施状态", mode: "改造路径", industry: "产业定位",
        plan_year: "计划年度", owner: "土地权属人", land_use: "用地性质", term_end: "使用权终止日期",
        block: "区块", other: "English" },
  en: { title: "Cixi old industrial block renovation", legend: "Legend", details: "Details",
        hint: "Click a block or parcel for details", code: "Code", name: "Name", town: "Town",
        status: "Status", mode: "Mode", industry: "Industry", plan_year: "Plan year", owner: "Land holder",
        land_use: "Land use", term_end: "Term ends", block: "Block", other: "中文" },
};
let lang = localStorage.getItem("renewal.lang") || "zh";
let lastCard = null;

const map = L.map("map", { preferCanvas: true, zoomControl: true }).setView([30.2, 121.3], 11);
const townLayer = L.geoJSON(null, {
  style: { color: "#555", weight: 1.5, dashArray: "4 3", fill: false },
  onEachFeature: (f, l) => l.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "town-label" }),
}).addTo(map);
const blockLayer = L.geoJSON(null, {
  style: (f) => ({ color: "#333", weight: 1, fillColor: (STATUS[f.properties.status] || {}).color || "#ccc", fillOpacity: 0.6 }),
  onEachFeature: (f, l) => {
    l.on("click", () => showCard("block", f.properties));
    l.on("mouseover", () => l.setStyle({ weight: 3 }));
    l.on("mouseout", () => l.setStyle({ weight: 1 }));
  },
}).addTo(map);
const parcelLayer = L.geoJSON(null, {
  style: { color: "#222", weight: 0.6, fillOpacity: 0 },
  onEachFeature: (f, l) => l.on("click", (e) => { L.DomEvent.stopPropagation(e); showCard("parcel", f.properties); }),
}).addTo(map);

function t(key) { return TEXT[lang][key] || key; }
function label(table, code) { return code && table[code] ? table[code][lang] : (code || "—"); }
function esc(v) { return String(v ?? "—").replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

function showCard(kind, p) {
  lastCard = [kind, p];
  const rows = kind === "block"
    ? [["code", p.code], ["name", p.name], ["town", p.town_code], ["status", label(STATUS, p.status)],
       ["mode", label(MODE, p.mode)], ["industry", p.industry], ["plan_year", p.plan_year]]
    : [["code", p.code], ["block", p.block_code], ["owner", p.owner], ["land_use", p.land_use], ["term_end", p.term_end]];
  document.getElementById("card").innerHTML =
    "<table>" + rows.map(([k, v]) => `<tr><th>${t(k)}</th><td>${esc(v)}</td></tr>`).join("") + "</table>";
}

function render() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.getElementById("lang").textContent = t("other");
  document.getElementById("legend").innerHTML = Object.values(STATUS)
    .map((s) => `<li><span class="swatch" style="background:${s.color}"></span>${s[lang]}</li>`).join("");
  if (lastCard) showCard(...lastCard);
}

async function load(layer, url, fit) {
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`${url}: ${resp.status}`);
  const data = await resp.json();
  layer.clearLayers();
  layer.addData(data);
  if (fit && data.features.length) map.fitBounds(layer.getBounds(), { padding: [20, 20] });
}

function loadParcels() {
  if (map.getZoom() < 15) { parcelLayer.clearLayers(); return; }
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(6)).join(",");
  load(parcelLayer, `ogc/collections/parcels/items?limit=5000&bbox=${bbox}`, false).catch(console.warn);
}

document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "zh" ? "en" : "zh";
  localStorage.setItem("renewal.lang", lang);
  render();
});

(async () => {
  render();
  const cfg = await (await fetch("config.json")).json();
  if (cfg.basemap_url) L.tileLayer(cfg.basemap_url, { attribution: cfg.basemap_attribution, maxZoom: 19 }).addTo(map);
  map.attributionControl.addAttribution("县界 © OpenStreetMap contributors, geoBoundaries (ODbL); 镇街范围为示意 synthetic");
  await load(townLayer, "ogc/collections/towns/items?limit=1000", false);
  await load(blockLayer, "ogc/collections/blocks/items?limit=10000", true);
  map.on("moveend", loadParcels);
  loadParcels();
})().catch((err) => { document.getElementById("card").textContent = String(err); });
