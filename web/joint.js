/* Joint development (联合开发) on the map: the layer of saved projects with their card, and the mode in which
   parcels clicked on the map are picked, previewed (merged outline and figures from
   POST api/joint-developments/preview, nothing saved) and saved. Every figure comes from the API; this file
   gathers the inputs and shows the answers. Saving needs a reviewer's or admin's login: Save opens the page's
   one login box (auth.js, renewalUI.login) when there is no token or the account may not save, and saves once
   logged in; the header shows the user as after any login.
   Loaded after map.js, whose map, layers and helpers it uses. */
"use strict";

Object.assign(TEXT.zh, {
  joint: "联合开发", l_joint: "联合开发项目", j_start: "选择宗地", j_stop: "退出",
  j_hint: "在地图上点击相邻宗地加入或移出（14级起）。宗地的权属人即为联合体成员，默认等额份额，可修改。",
  j_zoom: "请放大到14级以上再点击宗地", j_selected: "已选宗地", j_none: "尚未选择宗地", j_members: "联合体成员",
  j_owner: "权属人", j_share: "份额 %", j_member_planned: "规划建筑面积 m²", j_sum: "份额合计",
  j_name: "项目名称", j_p50: "50年期地价（元/亩，评估）", j_p50_hint: "如 136,000", j_date: "估价基准日", j_planned: "规划总建筑面积（m²）",
  j_preview: "预览", j_save: "保存", j_clear: "清除", j_remove: "移出", j_click_add: "点击加入", j_click_remove: "点击移出",
  j_load_failed: "读取失败", j_result: "预览结果（尚未保存）", j_stale: "输入已更改：请重新预览后再保存。",
  j_land: "合并用地面积", j_counted: "现状计容建筑面积", j_far_now: "现状容积率", j_needed: "容积率{far}所需建筑面积",
  j_to_add: "尚需增加", j_planned_far: "规划容积率", j_term_end: "合并后使用权终止", j_holes: "内含他人宗地（处）",
  j_top_ups: "补缴地价（使用年限较短的权属人）",
  j_years: "补足年限", j_top_up: "补缴", j_total: "合计", wan: "万元", years: "年",
  j_no_p50: "未填写50年期地价，不计算补缴。", j_no_top_up: "各宗地使用权同时到期，无需补缴。", j_rate: "土地还原率",
  j_split: "产权分配", j_split_planned: "按规划建筑面积", j_split_target: "按容积率达标所需建筑面积", j_land_share: "用地占比",
  j_status: "状态", jd_active: "有效", jd_cancelled: "已取消", j_parcels: "宗地", j_data: "项目数据 (JSON)",
  j_top_up_total: "补缴地价合计", err_connected: "所选宗地不连片", err_conflict: "宗地已属于其他联合开发项目",
  err_not_found: "未找到宗地或项目", err_input: "输入有误", err_failed: "请求失败", err_field: "涉及",
  j_login_needed: "保存需要评审员或管理员账号登录", j_forbidden: "此账号不能保存：请用评审员或管理员账号登录",
  field_members: "联合体成员", field_parcels: "宗地", field_valuation_date: "估价基准日", field_tolerance_m: "相邻容差",
  field_id: "项目",
  legend_joint: "联合开发", legend_jd: "联合开发项目", legend_picked: "已选宗地", legend_preview: "合并范围（预览）",
});
Object.assign(TEXT.en, {
  joint: "Joint development", l_joint: "Joint developments", j_start: "Pick parcels", j_stop: "Exit",
  j_hint: "Click neighbouring parcels on the map to add or remove them (zoom 14+). Their holders are the members, "
    + "with equal shares by default; shares can be edited.",
  j_zoom: "Zoom in to 14 or more to click parcels", j_selected: "Selected parcels", j_none: "No parcel selected yet",
  j_members: "Members", j_owner: "Holder", j_share: "Share %", j_member_planned: "Planned floor area m²",
  j_sum: "Shares total", j_name: "Project name", j_p50: "50-year land price (yuan/mu, appraisal)",
  j_p50_hint: "e.g. 136,000",
  j_date: "Valuation date", j_planned: "Planned total floor area (m²)", j_preview: "Preview", j_save: "Save",
  j_clear: "Clear", j_remove: "Remove", j_click_add: "click to add", j_click_remove: "click to remove",
  j_load_failed: "could not be read", j_result: "Preview (not saved yet)",
  j_stale: "Inputs changed: preview again before saving.", j_land: "Merged land area", j_counted: "Counted floor area now",
  j_far_now: "FAR now", j_needed: "Floor area for FAR {far}", j_to_add: "to add", j_planned_far: "Planned FAR",
  j_term_end: "Merged term ends", j_holes: "Others' parcels inside",
  j_top_ups: "Land-price top-ups (shorter terms)", j_years: "Years made up", j_top_up: "Top-up",
  j_total: "Total", wan: "10k yuan", years: "yr", j_no_p50: "No 50-year land price given: no top-ups computed.",
  j_no_top_up: "All terms end together: no top-up.", j_rate: "Land capitalisation rate", j_split: "Property split",
  j_split_planned: "by planned floor area", j_split_target: "by floor area for the FAR floor", j_land_share: "Land share",
  j_status: "Status", jd_active: "active", jd_cancelled: "cancelled", j_parcels: "Parcels", j_data: "Project data (JSON)",
  j_top_up_total: "Top-ups in total", err_connected: "The parcels are not contiguous",
  err_conflict: "A parcel already belongs to a joint development", err_not_found: "No such parcel or project",
  err_input: "Invalid input", err_failed: "Request failed", err_field: "concerns",
  j_login_needed: "Saving needs a reviewer's or admin's login",
  j_forbidden: "This account cannot save: log in as a reviewer or admin",
  field_members: "Members", field_parcels: "Parcels", field_valuation_date: "Valuation date",
  field_tolerance_m: "Adjacency tolerance", field_id: "Project", legend_joint: "Joint development",
  legend_jd: "Joint development project", legend_picked: "Selected parcel", legend_preview: "Merged outline (preview)",
});
// The API's error codes (app/errors.py, app/planning/joint_sql.py) and the headline shown above its detail.
const ERROR_TITLES = {
  NotConnected: "err_connected", Conflict: "err_conflict", NotFound: "err_not_found", InvalidParameterValue: "err_input",
};

const joint = {
  active: false,        // the mode: clicks on parcels pick them instead of opening their card
  parcels: new Map(),   // code -> {code, card, failed} in the order picked; card from api/parcels/{code}/card
  members: [],          // [{owner, share, planned}] as typed (strings)
  preview: null,        // the API's preview of the proposal in previewKey
  previewKey: "",       // JSON of the proposal that was previewed (and is what Save sends)
  error: null,          // {code, field, detail, said, codes, status} of the last refusal (said: the detail's language)
  note: "",             // text key of a hint about the last click
  busy: false,          // a preview or save is on its way
  highlight: null,      // id of the project whose card is open
  features: [],         // GeoJSON features (CRS84) of the saved projects
};
window.renewalMap.joint = joint;

const byId = (id) => document.getElementById(id);

// ---------------------------------------------------------------- the layer of saved projects
// colours from the legend (JOINT, SELECTION: map.js), read when a shape is drawn
const jointCasing = L.geoJSON(null, { pane: "joint", interactive: false,
  style: () => ({ color: JOINT.casing, weight: 6, fill: false }) });
const jointLine = L.geoJSON(null, { pane: "joint", interactive: false,
  style: (f) => ({ color: f.properties.code === joint.highlight ? SELECTION.colour : JOINT.line, weight: 3,
    fillColor: JOINT.line, fillOpacity: 0.12 }) });
layers.joint_developments = L.layerGroup([jointCasing, jointLine]);
const jointPreview = L.geoJSON(null, { pane: "joint", interactive: false,
  style: () => ({ color: JOINT.casing, weight: 3, dashArray: "10 6", fillColor: JOINT.line, fillOpacity: 0.25 }) }).addTo(map);

async function loadJointLayer() {
  try {
    const data = await getJSON("ogc/collections/joint_developments/items?limit=1000");
    joint.features = data.features;
    for (const l of [jointCasing, jointLine]) l.clearLayers().addData(data);
  } catch (err) {
    console.warn(err);
  }
}

/** Even-odd point-in-polygon over every ring of a (Multi)Polygon in lon/lat. */
function insideGeometry(geometry, x, y) {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  let inside = false;
  for (const rings of polygons) {
    for (const r of rings) {
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        const [xi, yi] = r[i], [xj, yj] = r[j];
        if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
  }
  return inside;
}

/** The saved project at a map position, as {key, props} like a tile feature, or null. */
function jointAt(latlng) {
  if (!map.hasLayer(layers.joint_developments)) return null;
  const f = joint.features.find((ft) => insideGeometry(ft.geometry, latlng.lng, latlng.lat));
  return f ? { key: f.properties.code, props: f.properties } : null;
}

function highlightJoint(id) {
  if (id === joint.highlight) return;
  joint.highlight = id;
  jointLine.resetStyle();
}

/** A saved project (api/joint-developments/{id}) as the card wants it: a code and a bounding box. */
function jointCardData(d) {
  const b = L.geoJSON(d.geometry).getBounds();
  return { ...d, code: `#${d.id}`, bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] };
}

/** The rows and links of a project's card. */
function jointCardRows(d) {
  const rows = [
    ["j_status", esc(t(`jd_${d.status}`))],
    ["j_parcels", d.parcels.map((p) => `<a href="#" class="open-card" data-kind="parcel" data-code="${esc(p.code)}">`
      + `${esc(p.code)}</a> <small>${named(p.owner)}</small>`).join("<br>")],
    ["land_area", `${num(d.land_area_mu)} ${t("mu")} <small>(${num(d.land_area_m2, 0)} ${t("m2")})</small>`],
    ["j_far_now", `<b>${num(d.far)}</b> ${farBadge(d.far >= d.far_target, d.far_target)}`],
    ["j_planned_far", d.planned_far === null ? "—"
      : `${num(d.planned_far)} <small>(${num(d.planned_floor_area_m2, 0)} ${t("m2")})</small>`],
    ["j_term_end", esc(d.term_end)],
  ];
  if (d.top_up_total_yuan !== null) rows.push(["j_top_up_total", `${num(d.top_up_total_yuan / 10000)} ${t("wan")}`]);
  return [rows, [`<a href="api/joint-developments/${d.id}" target="_blank" rel="noopener">${t("j_data")}</a>`]];
}

function jointLegend() {
  const sw = (style) => `<span class="swatch" style="${style}"></span>`;
  return `<h4>${t("legend_joint")}</h4><ul>
    <li>${sw(`border: 2px solid ${JOINT.line}; box-shadow: 0 0 0 2px ${JOINT.casing}; background: transparent`)}${t("legend_jd")}</li>
    <li>${sw(`border: 3px solid ${JOINT.line}; background: #ccc`)}${t("legend_picked")}</li>
    <li>${sw(`border: 2px dashed ${JOINT.casing}; background: ${JOINT.line}55`)}${t("legend_preview")}</li></ul>`;
}

// ---------------------------------------------------------------- the mode: pick, preview, save
function setJointMode(on) {
  joint.active = on;
  map.getContainer().classList.toggle("joint-mode", on);
  setHover(null);
  clearJoint();  // the mode starts and ends with nothing picked
  if (on && map.getZoom() < PARCEL_MIN_ZOOM) {
    joint.note = "j_zoom";
    renderJointNote();
  }
}

function clearJoint() {
  joint.parcels.clear();
  joint.members = [];
  joint.preview = null;
  joint.previewKey = "";
  joint.error = null;
  joint.note = "";
  for (const id of ["j-name", "j-p50", "j-planned"]) byId(id).value = "";
  byId("j-date").value = today();
  jointPreview.clearLayers();
  layers.parcels.setMarked([]);
  renderJoint();
}

function today() {
  const d = new Date();
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

/** A click on the map in the mode: a parcel is added or removed; elsewhere, say why nothing happened. */
function pickJointParcel(hit) {
  joint.note = !hit && map.getZoom() < PARCEL_MIN_ZOOM ? "j_zoom" : "";
  renderJointNote();
  if (hit) toggleJointParcel(hit[1].props.code);
}

async function toggleJointParcel(code) {
  if (joint.parcels.has(code)) {
    joint.parcels.delete(code);
    selectionChanged();
    return;
  }
  const entry = { code, card: null, failed: false };
  joint.parcels.set(code, entry);
  selectionChanged();
  try {
    entry.card = await getJSON(`api/parcels/${encodeURIComponent(code)}/card`);
  } catch (err) {
    entry.failed = true;
    console.warn(err);
  }
  if (joint.parcels.get(code) === entry) selectionChanged();
}

function selectionChanged() {
  layers.parcels.setMarked(joint.parcels.keys());
  syncMembers();
  renderJointParcels();
  renderJointMembers();
  refreshButtons();
}

/** Members follow the holders of the picked parcels; shares are reset to equal when the holders change. */
function syncMembers() {
  const holders = [...new Set([...joint.parcels.values()].map((p) => p.card?.owner).filter(Boolean))];
  const same = (a, b) => [...a].sort().join("\n") === [...b].sort().join("\n");
  if (same(holders, joint.members.map((m) => m.owner))) return;
  const planned = new Map(joint.members.map((m) => [m.owner, m.planned]));
  const shares = equalShares(holders.length);
  joint.members = holders.map((owner, i) => ({ owner, share: shares[i], planned: planned.get(owner) ?? "" }));
}

/** n shares in percent with two decimals that sum to exactly 100 (the last takes the remainder). */
function equalShares(n) {
  const each = Math.floor(10000 / n) / 100;
  return Array.from({ length: n }, (_, i) => String(i < n - 1 ? each : Math.round(10000 - 100 * each * (n - 1)) / 100));
}

/** The request body of preview and save, from the picked parcels, the members and the form. */
function proposal() {
  const value = (id) => byId(id).value.trim();
  const number = (s) => (String(s).trim() === "" ? null : Number(s));
  return {
    name: value("j-name") || null,
    parcels: [...joint.parcels.keys()],
    members: joint.members.map((m) => ({ owner: m.owner, share_pct: number(m.share),
      planned_floor_area_m2: number(m.planned) })),
    p50_yuan_per_mu: number(value("j-p50")),
    valuation_date: value("j-date") || null,
    planned_floor_area_m2: number(value("j-planned")),
  };
}

/** The JSON of a response; for an error, the API's error body thrown as an Error with its code, field, status,
    detail (the API's own words), the language they are in (Content-Language; English when not said) and
    messages (the words in each language the API has them in). */
async function answerOf(resp) {
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    throw Object.assign(new Error(data.detail ?? `${resp.url}: HTTP ${resp.status}`), { code: data.code,
      field: data.field, status: resp.status, detail: String(data.detail || ""), messages: data.messages || {},
      said: (resp.headers.get("Content-Language") || "en").toLowerCase() });
  }
  return data;
}

/** POST JSON (the page's fetch adds the tab's token). */
async function post(url, body) {
  return answerOf(await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body) }));
}

function refused(err) {
  joint.preview = null;
  joint.previewKey = "";
  // the parcels picked that the API's answer names: codes read in either language
  const mentioned = [...joint.parcels.keys()].filter((code) => err.detail.includes(code));
  joint.error = { code: err.code, field: err.field, detail: err.detail, said: err.said, messages: err.messages,
    codes: mentioned, status: err.status };
  jointPreview.clearLayers();
}

async function previewJoint() {
  const body = proposal();
  joint.busy = true;
  refreshButtons();
  try {
    const data = await post("api/joint-developments/preview", body);
    joint.preview = data;
    joint.previewKey = JSON.stringify(body);
    joint.error = null;
    jointPreview.clearLayers().addData(data.geometry);
  } catch (err) {
    refused(err);
  } finally {
    joint.busy = false;
  }
  renderJointResult();
  refreshButtons();
}

/** Save what was previewed; without a token, or with an account that may not save, the page's login box opens
    first (renewalUI.login) and the save goes on once logged in. */
async function saveJoint() {
  if (!previewFresh()) return;  // e.g. a login finished after the inputs changed
  if (!renewalUI.token() && !(await renewalUI.login(() => t("j_login_needed")))) return;
  if (!previewFresh()) return;
  joint.busy = true;
  refreshButtons();
  let saved;
  let again = null;  // the login to ask for before trying again
  try {
    saved = await post("api/joint-developments", JSON.parse(joint.previewKey));
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      if (err.status === 401) renewalUI.forget();  // expired, or the account is gone
      const key = err.status === 403 ? "j_forbidden" : "j_login_needed";
      again = () => t(key);
    } else {
      refused(err);
      renderJointResult();
    }
  } finally {
    joint.busy = false;
    refreshButtons();
  }
  if (again !== null) {
    if (await renewalUI.login(again)) saveJoint();
    return;
  }
  if (!saved) return;
  setJointMode(false);
  await loadJointLayer();
  openCard("joint", saved.id);
}

// ---------------------------------------------------------------- the panel
function renderJoint() {
  const mode = byId("j-mode");
  mode.textContent = t(joint.active ? "j_stop" : "j_start");
  mode.setAttribute("aria-pressed", String(joint.active));
  byId("j-form").hidden = !joint.active;
  renderJointNote();
  renderJointParcels();
  renderJointMembers();
  renderJointResult();
  refreshButtons();
}

function renderJointNote() {
  const el = byId("j-note");
  el.textContent = joint.note ? t(joint.note) : "";
  el.hidden = !joint.note;
}

function renderJointParcels() {
  const el = byId("j-parcels");
  if (!joint.parcels.size) { el.innerHTML = `<tr><td class="empty">${t("j_none")}</td></tr>`; return; }
  el.innerHTML = [...joint.parcels.values()].map((p) => {
    const c = p.card;
    const holder = c ? `<small class="holder" data-name>${esc(c.owner)}</small>`
      : `<small class="holder">${t(p.failed ? "j_load_failed" : "loading")}</small>`;
    const figures = c ? `${num(c.land_area_mu)} ${t("mu")}<br><small>${esc(c.term_end)}</small>` : "";
    return `<tr data-code="${esc(p.code)}"><td><b>${esc(p.code)}</b><br>${holder}</td>
      <td class="num">${figures}</td>
      <td><button type="button" class="remove" title="${t("j_remove")}" aria-label="${t("j_remove")} ${esc(p.code)}">×</button></td></tr>`;
  }).join("");
}

function renderJointMembers() {
  const el = byId("j-members");
  el.innerHTML = !joint.members.length ? "" : `<tr><th>${t("j_owner")}</th><th>${t("j_share")}</th>
    <th>${t("j_member_planned")}</th></tr>` + joint.members.map((m, i) => `<tr data-owner="${esc(m.owner)}">
      <td>${named(m.owner)}</td>
      <td><input type="number" class="share" data-i="${i}" min="0" max="100" step="0.01" value="${esc(m.share)}"
        aria-label="${t("j_share")} ${esc(m.owner)}"></td>
      <td><input type="number" class="planned" data-i="${i}" min="0" step="100" value="${esc(m.planned)}"
        aria-label="${t("j_member_planned")} ${esc(m.owner)}"></td></tr>`).join("");
  renderShareSum();
}

function renderShareSum() {
  const el = byId("j-sum");
  const total = joint.members.reduce((s, m) => s + (Number(m.share) || 0), 0);
  el.hidden = !joint.members.length;
  el.textContent = `${t("j_sum")} ${num(total)}%`;
  el.classList.toggle("bad", Math.abs(total - 100) > 0.01);
}

/** Whether the preview shown is of the proposal as it stands: only that may be saved. */
function previewFresh() {
  return joint.preview !== null && JSON.stringify(proposal()) === joint.previewKey;
}

/** Any change after the preview disables Save (and says so). */
function refreshButtons() {
  const fresh = previewFresh();
  byId("j-preview").disabled = joint.busy;
  byId("j-save").disabled = joint.busy || !fresh;
  byId("j-result").classList.toggle("stale", joint.preview !== null && !fresh);
}

function renderJointResult() {
  const el = byId("j-result");
  if (joint.error) {
    // the API's words when they are in the UI's language; else what the refusal concerns, in the UI's words
    const e = joint.error;
    const title = ERROR_TITLES[e.code] ? t(ERROR_TITLES[e.code]) : renewalUI.apiMessage(e, { status: e.status, headers: new Headers() });
    const about = e.field && TEXT[state.lang][`field_${e.field}`]
      ? `${t("err_field")}${renewalUI.text("colon")}${t(`field_${e.field}`)}${e.codes.length ? ` ${e.codes.map(esc).join(", ")}` : ""}` : "";
    const own = (e.messages || {})[state.lang] || (e.detail && (e.said || "en").startsWith(state.lang) ? e.detail : "");
    const detail = own ? esc(own) : about;
    el.innerHTML = `<div class="j-error" role="alert"><b>${title}</b>${detail ? `<p class="detail">${detail}</p>` : ""}</div>`;
    return;
  }
  const d = joint.preview;
  if (!d) { el.innerHTML = ""; return; }
  const m2 = (v) => `${num(v, 0)} ${t("m2")}`;
  const rows = [
    ["land_area", t("j_land"), `<b>${num(d.land_area_mu)} ${t("mu")}</b> <small>(${m2(d.land_area_m2)})</small>`],
    ["counted", t("j_counted"), m2(d.far_floor_area_m2)],
    ["far", t("j_far_now"), `<b>${num(d.far)}</b> ${farBadge(d.far >= d.far_target, d.far_target)}`],
    ["needed", t("j_needed").replace("{far}", num(d.far_target, 1)),
      `${m2(d.floor_area_for_target_m2)} <small>(${t("j_to_add")} ${m2(d.floor_area_to_add_m2)})</small>`],
    ["planned_far", t("j_planned_far"), d.planned_far === null ? "—"
      : `${num(d.planned_far)} <small>(${m2(d.planned_floor_area_m2)})</small>`],
    ["term_end", t("j_term_end"), `<b>${esc(d.term_end)}</b>`],
  ];
  if (d.holes) rows.splice(1, 0, ["holes", t("j_holes"), num(d.holes, 0)]);
  const table = (head, body) => `<table><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>${body}</table>`;
  let topUps;
  if (d.p50_yuan_per_mu === null) topUps = `<p class="muted">${t("j_no_p50")}</p>`;
  else if (!d.top_ups.length) topUps = `<p class="muted">${t("j_no_top_up")}</p>`;
  else {
    topUps = `<p class="rule">${t("j_rate")} r = ${num(100 * d.rate, 1)}% · ${esc(d.rate_source)}</p>` + table([t("j_owner"), t("j_years"), `${t("j_top_up")} ${t("wan")}`], d.top_ups.map((u) =>
      `<tr data-code="${esc(u.code)}"><td>${named(u.owner)}<br><small>${esc(u.code)}</small></td>
        <td class="num years">${num(u.years_made_up, 1)} ${t("years")}</td>
        <td class="num wan">${num(u.top_up_yuan / 10000)}</td></tr>`).join("")
      + `<tr class="total"><td>${t("j_total")}</td><td></td><td class="num wan">${num(d.top_up_total_yuan / 10000)}</td></tr>`);
  }
  const split = table([t("j_owner"), t("j_share"), t("m2"), t("j_land_share")], d.split.map((s) =>
    `<tr data-owner="${esc(s.owner)}"><td>${named(s.owner)}</td><td class="num">${num(s.share_pct)}%</td>
      <td class="num m2">${num(s.floor_area_m2, 0)}</td><td class="num">${num(s.land_area_share_pct, 1)}%</td></tr>`).join(""));
  el.innerHTML = `<p class="stale-note">${t("j_stale")}</p>
    <h4>${t("j_result")}</h4>
    <table class="figures">${rows.map(([k, th, td]) => `<tr data-field="${k}"><th>${th}</th><td>${td}</td></tr>`).join("")}</table>
    <h4>${t("j_top_ups")}</h4><div class="top-ups">${topUps}</div>
    <h4>${t("j_split")} <small>${t(d.planned_floor_area_m2 === null ? "j_split_target" : "j_split_planned")}</small></h4>
    <div class="split">${split}</div>
    <p class="rule">${t("rule")}: ${esc(d.rule_version)}</p>`;
}

byId("j-date").value = today();
byId("j-mode").addEventListener("click", () => setJointMode(!joint.active));
byId("j-preview").addEventListener("click", previewJoint);
byId("j-save").addEventListener("click", saveJoint);
byId("j-clear").addEventListener("click", clearJoint);
byId("j-parcels").addEventListener("click", (e) => {
  const button = e.target.closest("button.remove");
  if (button) toggleJointParcel(button.closest("tr").dataset.code);
});
byId("j-members").addEventListener("input", (e) => {
  const i = e.target.dataset.i;
  if (i === undefined) return;
  joint.members[Number(i)][e.target.classList.contains("share") ? "share" : "planned"] = e.target.value;
  renderShareSum();
  refreshButtons();
});
for (const id of ["j-name", "j-p50", "j-date", "j-planned"]) byId(id).addEventListener("input", refreshButtons);
