/* What every page of the service shares (the map, the dashboard and their panels), as window.renewalUI:

   - the UI's language: one at a time, "zh" (default) or "en", kept in localStorage ("renewal.lang"); a #lang
     button in the page switches it, and every part of the page re-renders on the "renewal:lang" event;
   - one login component with one state: the header's login button or user name and logout, and the one login
     box (#auth-form), opened by the header, by a panel that needs an account (login(note) answers a promise),
     by a download, or when reading requires a login. A login closes the box, shows the user in the header and
     sends "renewal:login"; the page reloads only when it could not load without one;
   - the bearer token of this tab (sessionStorage "renewal.token", from POST api/auth/token): window.fetch is
     wrapped so that every same-origin request carries it unless it sets Authorization itself. A 401 means the
     token expired or the account was disabled: the token is dropped and the request sent again without it
     (reading is open by default; money figures are then hidden);
   - downloads with the token (download(url)): the file is fetched, saved under the name the server gives in
     Content-Disposition, and an anonymous user is asked to log in first when the server wants an account;
   - the API's errors in the UI's language: apiMessage() maps the error's machine code (Unauthorized,
     TooManyRequests, Forbidden…) to a sentence of the UI; the API's own detail is shown when the API says, with
     Content-Language, that it answered in the UI's language (it follows the Accept-Language sent here);
   - numbers with the thousands separators of the UI's locale (num).
   No inline script is used: the Content Security Policy allows only this origin (styles: web/auth.css). */
"use strict";

(function () {
  const KEY = "renewal.token";
  const USER = "renewal.user";
  const LANG = "renewal.lang";
  const nativeFetch = window.fetch.bind(window);
  const TEXT = {
    zh: {
      other: "English", colon: "：", login: "登录", logout: "退出", user: "用户名", password: "密码", submit: "登录",
      cancel: "取消", needed: "浏览需要登录", failed: "登录失败", download_login: "下载需要登录",
      downloading: "正在下载…", err_login: "用户名或密码错误", err_disabled: "账号已停用",
      err_unauthorized: "需要登录", err_too_many: "登录失败次数过多，请 {s} 秒后再试",
      err_forbidden: "此账号无权进行该操作", err_not_found: "未找到", err_input: "输入有误",
      err_conflict: "与现有数据冲突", err_connected: "所选宗地不连片", err_database: "数据库暂时不可用，请稍后再试",
      err_too_large: "文件过大", err_failed: "请求失败（HTTP {status}）", err_network: "无法连接服务器",
    },
    en: {
      other: "中文", colon: ": ", login: "Log in", logout: "Log out", user: "User name", password: "Password", submit: "Log in",
      cancel: "Cancel", needed: "Reading requires a login", failed: "Login failed",
      download_login: "Downloading needs a login", downloading: "Downloading…",
      err_login: "Wrong user name or password", err_disabled: "The account is disabled",
      err_unauthorized: "Please log in", err_too_many: "Too many failed logins: try again in {s} s",
      err_forbidden: "This account may not do this", err_not_found: "Not found", err_input: "Invalid input",
      err_conflict: "Conflicts with existing data", err_connected: "The parcels are not contiguous",
      err_database: "The database is unavailable for the moment; try again later", err_too_large: "The file is too large",
      err_failed: "Request failed (HTTP {status})", err_network: "The server cannot be reached",
    },
  };
  // The API's error codes (app/errors.py) and the UI's sentence for each.
  const ERROR_TEXT = {
    Unauthorized: "err_unauthorized", TooManyRequests: "err_too_many", Forbidden: "err_forbidden",
    NotFound: "err_not_found", InvalidParameterValue: "err_input", BadRequest: "err_input", InvalidFile: "err_input",
    InvalidChange: "err_input", Conflict: "err_conflict", NotConnected: "err_connected",
    TransitionNotAllowed: "err_conflict", PreconditionFailed: "err_conflict", DatabaseUnavailable: "err_database",
    PayloadTooLarge: "err_too_large",
  };

  // ---------------------------------------------------------------- language and numbers
  function lang() {
    try { return localStorage.getItem(LANG) === "en" ? "en" : "zh"; } catch (e) { return "zh"; }
  }
  const t = (key) => TEXT[lang()][key] ?? key;
  const locale = () => (lang() === "zh" ? "zh-CN" : "en");

  function setLang(value) {
    try { localStorage.setItem(LANG, value === "en" ? "en" : "zh"); } catch (e) { /* storage disabled */ }
    document.documentElement.lang = locale();
    render();
    window.dispatchEvent(new CustomEvent("renewal:lang", { detail: lang() }));
  }

  /** A number with the thousands separators of the UI's locale and ``digits`` decimals ("—" for none). */
  function num(v, digits = 0) {
    if (v === null || v === undefined || v === "" || Number.isNaN(Number(v))) return "—";
    return Number(v).toLocaleString(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }

  // ---------------------------------------------------------------- the token
  function token() {
    try { return sessionStorage.getItem(KEY); } catch (e) { return null; }
  }
  function userName() {
    try { return sessionStorage.getItem(USER); } catch (e) { return null; }
  }
  function forget() {
    try { sessionStorage.removeItem(KEY); sessionStorage.removeItem(USER); } catch (e) { /* storage disabled */ }
    render();
  }
  function urlOf(input) {
    return typeof input === "string" ? input : (input instanceof URL ? input.href : input.url);
  }
  function sameOrigin(input) {
    try { return new URL(urlOf(input), location.href).origin === location.origin; } catch (e) { return false; }
  }
  /** The API's requests carry the UI's language, so that an API that speaks it can answer in it. */
  function withLanguage(input, init) {
    let path = "";
    try { path = new URL(urlOf(input), location.href).pathname; } catch (e) { return init; }
    if (!/\/(api|ogc)\//.test(path)) return init;  // not for tiles and static files
    const headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
    if (!headers.has("Accept-Language")) headers.set("Accept-Language", lang() === "en" ? "en" : "zh-CN, zh;q=0.9");
    return Object.assign({}, init, { headers });
  }

  /** fetch with the tab's token on same-origin requests; a 401 drops the token and retries without it. */
  window.fetch = async function (input, init) {
    if (!sameOrigin(input)) return nativeFetch(input, init);
    init = withLanguage(input, init);
    const current = token();
    if (current) {
      const headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
      if (!headers.has("Authorization")) {
        headers.set("Authorization", `Bearer ${current}`);
        const resp = await nativeFetch(input, Object.assign({}, init, { headers }));
        if (resp.status !== 401) return resp;
        forget();
      }
    }
    const resp = await nativeFetch(input, init);
    if (resp.status === 401 && !needed && !(init && init.method && init.method !== "GET")) {
      const body = await resp.clone().json().catch(() => ({}));
      if (/log in to read/.test(english(body))) {
        needed = true;
        login("needed");
      }
    }
    return resp;
  };

  // ---------------------------------------------------------------- the API's errors in the UI's language
  /** A sentence in the UI's language for an error answer of the API: its JSON body ({code, detail, field}) and
      the response (for the status, Retry-After and Content-Language). ``context`` "login": a 401 is a wrong
      password (or a disabled account). */
  function apiMessage(body, resp, context) {
    const code = body && body.code;
    const status = resp ? resp.status : 0;
    if (!resp) return t("err_network");
    if (code === "Unauthorized" && context === "login") {
      return t(/disabled/i.test(english(body)) ? "err_disabled" : "err_login");
    }
    if (code === "TooManyRequests") {
      return t("err_too_many").replace("{s}", num(Number(resp.headers.get("Retry-After")) || 60));
    }
    const key = ERROR_TEXT[code] || (status === 413 ? "err_too_large" : status === 503 ? "err_database" : null);
    return key ? t(key) : t("err_failed").replace("{status}", String(status));
  }

  /** The API's English sentence of an error body (its messages.en; detail from an older server), for tests on
      what the error is that do not depend on the language asked for. */
  function english(body) {
    return String((body && body.messages && body.messages.en) || (body && body.detail) || "");
  }

  /** The API's own words when they are in the UI's language (the API writes English unless it says otherwise
      with Content-Language), else null. */
  function apiDetail(body, resp) {
    if (!body || !body.detail) return null;
    const said = ((resp && resp.headers.get("Content-Language")) || "en").toLowerCase();
    return said.startsWith(lang()) ? String(body.detail) : null;
  }

  // ---------------------------------------------------------------- the header and the login box
  let needed = false;   // reading requires a login: the page reloads after it
  let pending = [];     // resolvers of login() promises
  const box = document.createElement("span");
  box.id = "auth-box";
  const who = document.createElement("span");
  who.id = "auth-user";
  who.dataset.name = "";  // a user name is a name, in either language
  const button = document.createElement("button");
  button.type = "button";
  button.id = "auth-button";
  box.append(who, button);

  const form = document.createElement("form");
  form.id = "auth-form";
  form.hidden = true;
  form.setAttribute("role", "dialog");
  form.setAttribute("aria-labelledby", "auth-note");
  const note = document.createElement("p");
  note.id = "auth-note";
  note.setAttribute("role", "status");
  const error = document.createElement("p");
  error.id = "auth-error";
  error.setAttribute("role", "alert");
  const user = document.createElement("input");
  user.id = "auth-username";
  user.autocomplete = "username";
  user.required = true;
  const pass = document.createElement("input");
  pass.id = "auth-password";
  pass.type = "password";
  pass.autocomplete = "current-password";
  pass.required = true;
  const buttons = document.createElement("div");
  buttons.className = "auth-buttons";
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.id = "auth-submit";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.id = "auth-cancel";
  buttons.append(submit, cancel);
  form.append(note, error, user, pass, buttons);
  let noteKey = null;  // the note as a text key or a function, re-rendered on a language switch
  let noteText = "";

  function render() {
    const has = Boolean(token());
    who.textContent = has ? (userName() || "") : "";
    who.hidden = !who.textContent;
    button.textContent = has ? t("logout") : t("login");
    user.placeholder = t("user");
    user.setAttribute("aria-label", t("user"));
    pass.placeholder = t("password");
    pass.setAttribute("aria-label", t("password"));
    submit.textContent = t("submit");
    cancel.textContent = t("cancel");
    note.textContent = noteKey ? t(noteKey) : (typeof noteText === "function" ? noteText() : noteText);
    note.hidden = !note.textContent;
    const lang_ = document.getElementById("lang");
    if (lang_) {  // the switch names the other language in that language, and says so
      lang_.textContent = t("other");
      lang_.lang = lang() === "zh" ? "en" : "zh-CN";
    }
  }

  /** Open the login box with a note (a key of this file's texts, or a function giving the sentence in the UI's
      language, or a sentence); resolves true once logged in, false when cancelled. */
  function login(message) {
    noteKey = typeof message === "string" && TEXT.zh[message] ? message : null;
    noteText = noteKey ? "" : (message || "");
    error.textContent = "";
    error.hidden = true;
    form.hidden = false;
    render();
    user.focus();
    return new Promise((resolve) => pending.push(resolve));
  }

  function close(ok) {
    form.hidden = true;
    pass.value = "";
    const waiting = pending;
    pending = [];
    for (const resolve of waiting) resolve(ok);
  }

  button.addEventListener("click", () => {
    if (token()) {
      forget();
      location.reload();  // nothing of the account stays on the page
    } else {
      login("");
    }
  });
  cancel.addEventListener("click", () => close(false));
  form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") close(false); });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let resp = null;
    let body = {};
    try {
      resp = await nativeFetch("api/auth/token", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "Accept-Language": lang() === "en" ? "en" : "zh-CN" },
        body: new URLSearchParams({ username: user.value, password: pass.value }),
      });
      body = await resp.json().catch(() => ({}));
    } catch (err) {
      resp = null;
    }
    if (!resp || !resp.ok) {
      error.textContent = `${t("failed")}${t("colon")}${apiMessage(body, resp, "login")}`;
      error.hidden = false;
      return;
    }
    try {
      sessionStorage.setItem(KEY, body.access_token);
      sessionStorage.setItem(USER, user.value.trim().toLowerCase());
    } catch (e) { /* storage disabled: this page only */ }
    if (needed) { location.reload(); return; }  // the page could not load without a login
    close(true);
    render();
    window.dispatchEvent(new CustomEvent("renewal:login", { detail: { user: userName() } }));
  });

  // ---------------------------------------------------------------- downloads
  /** The file name of a Content-Disposition header (RFC 6266: filename* before filename), or null. */
  function filenameOf(header) {
    if (!header) return null;
    const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
    if (star) {
      try { return decodeURIComponent(star[2].trim().replace(/^"|"$/g, "")); } catch (e) { /* fall through */ }
    }
    const plain = /filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;]+)/i.exec(header);
    return plain ? plain[1].trim().replace(/^"|"$/g, "").replace(/\\(.)/g, "$1") : null;
  }

  /** Download a file of this service with the tab's token and save it under the server's file name; when the
      server wants an account the login box opens first. ``report(text)`` is told how it goes ("" when done).
      Resolves true once the file is handed to the browser. */
  async function download(url, report = () => {}) {
    let asked = false;  // the login was asked for once already
    for (;;) {
      report(t("downloading"));
      let resp;
      try {
        const headers = { "Accept-Language": lang() === "en" ? "en" : "zh-CN" };
        if (token()) headers.Authorization = `Bearer ${token()}`;
        resp = await nativeFetch(url, { headers });
      } catch (err) {
        report(t("err_network"));
        return false;
      }
      if (resp.status === 401 && !asked) {
        asked = true;
        if (token()) forget();
        report("");
        if (!(await login("download_login"))) return false;
        continue;
      }
      if (!resp.ok) {
        report(apiMessage(await resp.json().catch(() => ({})), resp));
        return false;
      }
      const blob = await resp.blob();
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = filenameOf(resp.headers.get("Content-Disposition"))
        || new URL(url, location.href).pathname.split("/").pop() || "download";
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
      report("");
      return true;
    }
  }

  // ---------------------------------------------------------------- mount
  function mount() {
    document.documentElement.lang = locale();
    const header = document.querySelector("header");
    if (header) (header.querySelector("nav") || header).append(box);
    document.body.append(form);
    const langButton = document.getElementById("lang");
    if (langButton) langButton.addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));
    render();
    if (token()) {  // check the kept token once; an expired one is dropped
      window.fetch("api/auth/me").then((r) => (r.ok ? r.json() : null)).then((me) => {
        if (me) sessionStorage.setItem(USER, me.username);
        render();
      }).catch(() => render());
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();

  window.renewalUI = { lang, setLang, text: t, num, token, userName, forget, login, download, apiMessage, apiDetail,
    filenameOf, isOpen: () => !form.hidden };
})();
