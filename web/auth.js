/* Accounts on the map page (issue 8): keeps the bearer token of this tab and sends it with the page's own
   requests; offers a small login in the header.

   The token (from POST api/auth/token) lives in sessionStorage under "renewal.token", shared with joint.js,
   and goes away with the tab. window.fetch is wrapped so that every same-origin request carries it (tiles,
   cards, totals, OGC), unless the request sets Authorization itself. A 401 means the token expired or the
   account was disabled: the token is dropped and the request sent again without it, which works while
   reading is open (money figures are then hidden). When reading requires a login (RENEWAL_READ_REQUIRES_LOGIN)
   that retry is a 401 too, and the login form opens. After a login the page reloads with the token.
   No inline script or style is used: the Content Security Policy allows only this origin. */
"use strict";

(function () {
  const KEY = "renewal.token";
  const nativeFetch = window.fetch.bind(window);
  const TEXT = {
    zh: { login: "登录", logout: "退出", user: "用户名", password: "密码", submit: "登录", cancel: "取消",
          needed: "浏览需要登录", failed: "登录失败" },
    en: { login: "Log in", logout: "Log out", user: "User name", password: "Password", submit: "Log in",
          cancel: "Cancel", needed: "Reading requires a login", failed: "Login failed" },
  };
  const t = (key) => TEXT[(localStorage.getItem("renewal.lang") || "zh") === "en" ? "en" : "zh"][key];

  function token() {
    try { return sessionStorage.getItem(KEY); } catch (e) { return null; }
  }
  function forget() {
    try { sessionStorage.removeItem(KEY); } catch (e) { /* storage disabled */ }
  }
  function sameOrigin(input) {
    const url = typeof input === "string" ? input : (input instanceof URL ? input.href : input.url);
    try { return new URL(url, location.href).origin === location.origin; } catch (e) { return false; }
  }

  let formShown = false;

  /** fetch with the tab's token on same-origin requests; a 401 drops the token and retries without it. */
  window.fetch = async function (input, init) {
    const current = token();
    if (!sameOrigin(input)) return nativeFetch(input, init);
    if (current) {
      const headers = new Headers((init && init.headers) || (input instanceof Request ? input.headers : undefined));
      if (!headers.has("Authorization")) {
        headers.set("Authorization", `Bearer ${current}`);
        const resp = await nativeFetch(input, Object.assign({}, init, { headers }));
        if (resp.status !== 401) return resp;
        forget();
        render();
      }
    }
    const resp = await nativeFetch(input, init);
    if (resp.status === 401 && !formShown && !(init && init.method && init.method !== "GET")) {
      const body = await resp.clone().json().catch(() => ({}));
      if (/log in to read/.test(body.detail || "")) showForm(t("needed"));
    }
    return resp;
  };

  // ---- the header: a login button, or the user's name and a logout button
  const box = document.createElement("span");
  box.id = "auth-box";
  box.style.display = "inline-flex";
  box.style.gap = "0.4rem";
  box.style.alignItems = "center";
  const who = document.createElement("span");
  who.id = "auth-user";
  const button = document.createElement("button");
  button.type = "button";
  button.id = "auth-button";
  box.append(who, button);

  const form = document.createElement("form");
  form.id = "auth-form";
  form.hidden = true;
  Object.assign(form.style, { position: "fixed", top: "3.2rem", right: "0.8rem", zIndex: "2000", background: "#fff",
                              color: "#222", padding: "0.8rem", borderRadius: "4px", display: "grid", gap: "0.4rem",
                              boxShadow: "0 2px 12px rgba(0,0,0,.3)", minWidth: "14rem" });
  const note = document.createElement("p");
  note.id = "auth-note";
  note.style.margin = "0";
  const user = document.createElement("input");
  user.id = "auth-username";
  user.autocomplete = "username";
  user.required = true;
  const pass = document.createElement("input");
  pass.id = "auth-password";
  pass.type = "password";
  pass.autocomplete = "current-password";
  pass.required = true;
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.id = "auth-submit";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.id = "auth-cancel";
  form.append(note, user, pass, submit, cancel);

  function render() {
    const name = sessionStorage.getItem("renewal.user");
    const has = Boolean(token());
    who.textContent = has && name ? name : "";
    button.textContent = has ? t("logout") : t("login");
    user.placeholder = t("user");
    pass.placeholder = t("password");
    submit.textContent = t("submit");
    cancel.textContent = t("cancel");
  }

  function showForm(message) {
    formShown = true;
    note.textContent = message || "";
    form.hidden = false;
    render();
    user.focus();
  }

  button.addEventListener("click", () => {
    if (token()) {
      forget();
      sessionStorage.removeItem("renewal.user");
      location.reload();
    } else {
      showForm("");
    }
  });
  cancel.addEventListener("click", () => { form.hidden = true; formShown = false; });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const resp = await nativeFetch("api/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username: user.value, password: pass.value }),
    });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      note.textContent = `${t("failed")}: ${body.detail || resp.status}`;
      return;
    }
    sessionStorage.setItem(KEY, body.access_token);
    sessionStorage.setItem("renewal.user", user.value.trim().toLowerCase());
    location.reload();
  });

  function mount() {
    const header = document.querySelector("header");
    if (header) header.append(box);
    document.body.append(form);
    render();
    if (token()) {  // check the kept token once; an expired one is dropped
      window.fetch("api/auth/me").then((r) => (r.ok ? r.json() : null)).then((me) => {
        if (me) sessionStorage.setItem("renewal.user", me.username);
        render();
      }).catch(() => render());
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount);
  else mount();
})();
