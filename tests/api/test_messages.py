"""API errors in the language the request asks for (Accept-Language), with both languages in ``messages``; the
CLI's errors in the locale's language."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from app.api.errors import ErrorGuard, negotiate, send_error
from app.api.messages import validation_zh
from app.cli.common import language
from tests.conftest import create_user

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}
NO_BLOCK = "/api/blocks/NO-SUCH-BLOCK/metrics"


@pytest.mark.parametrize(("header", "lang"), [
    (None, "en"), ("", "en"), ("zh", "zh"), ("zh-CN", "zh"), ("zh-Hans-CN", "zh"), ("ZH-tw", "zh"),
    ("en-US,en;q=0.9", "en"), ("fr-FR, zh;q=0.5", "zh"), ("fr, de", "en"), ("*", "en"),
    ("en;q=0.5, zh-CN;q=0.8", "zh"), ("zh-CN;q=0.8, en;q=0.9", "en"), ("zh;q=0, en", "en"),
    ("zh;q=abc, en;q=0.1", "en"), ("en;q=0.7, zh;q=0.7", "en"), (" zh-cn ; q=1.0 ", "zh"),
])
def test_negotiate(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_domain_error_follows_accept_language(client: TestClient) -> None:
    zh, en, plain = (client.get(NO_BLOCK, headers=h) for h in (ZH, EN, {}))
    assert zh.status_code == en.status_code == plain.status_code == 404
    assert zh.json()["detail"] == "没有编号为 'NO-SUCH-BLOCK' 的区块"
    assert en.json()["detail"] == plain.json()["detail"] == "no block with code 'NO-SUCH-BLOCK'"
    assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"
    assert plain.headers["content-language"] == "en"  # no Accept-Language: English, the default
    assert "Accept-Language" in zh.headers["vary"]
    for resp in (zh, en, plain):  # the same body keys whatever the language
        assert resp.json()["code"] == "NotFound" and resp.json()["field"] == "code"
        assert resp.json()["messages"] == {"zh": "没有编号为 'NO-SUCH-BLOCK' 的区块",
                                           "en": "no block with code 'NO-SUCH-BLOCK'"}


def test_q_values_decide(client: TestClient) -> None:
    zh = client.get(NO_BLOCK, headers={"Accept-Language": "en;q=0.3, zh-Hans;q=0.8"})
    en = client.get(NO_BLOCK, headers={"Accept-Language": "zh;q=0.2, en-GB;q=0.9"})
    refused = client.get(NO_BLOCK, headers={"Accept-Language": "zh;q=0"})
    assert zh.headers["content-language"] == "zh-CN" and zh.json()["detail"].startswith("没有编号")
    assert en.headers["content-language"] == "en" and en.json()["detail"].startswith("no block")
    assert refused.headers["content-language"] == "en"


def test_validation_error_in_chinese_names_the_field(client: TestClient) -> None:
    resp = client.get("/api/compliance", params={"rule": "far_min", "limit": "many"}, headers=ZH)
    assert resp.status_code == 400
    assert resp.json()["detail"] == "limit 应为整数" and resp.json()["field"] == "limit"
    assert resp.json()["messages"]["en"].startswith("limit: Input should be a valid integer")
    big = client.get("/api/compliance", params={"rule": "far_min", "limit": "5000"}, headers=ZH)
    assert big.json()["detail"] == "limit 应不大于 1000"
    assert client.get("/api/compliance", params={"limit": "many"}, headers=EN).json()["detail"].startswith("limit:")


def test_validation_sentences() -> None:
    assert validation_zh({"type": "missing", "loc": ("query", "rule")}, "rule") == "缺少必填项 rule"
    assert validation_zh({"type": "greater_than", "ctx": {"gt": 0}}, "share_pct") == "share_pct 应大于 0"
    assert validation_zh({"type": "string_too_long", "ctx": {"max_length": 64}}, "name") == "name 最多 64 个字符"
    assert validation_zh({"type": "literal_error", "ctx": {"expected": "'json', 'csv' or 'xlsx'"}},
                         "format") == "format 应为以下之一：'json'、'csv'、'xlsx'"
    assert validation_zh({"type": "json_invalid", "ctx": {"error": "Expecting value"}}, "1") == "请求体不是有效的 JSON"
    assert validation_zh({"type": "something_new"}, "members.0.owner") == "members.0.owner 的值无效"
    assert validation_zh({"type": "greater_than"}, "x") == "x 的值无效"  # context missing: still a sentence
    assert validation_zh({"type": "missing"}, "") == "缺少必填项 请求"


def test_starlette_errors_in_chinese(client: TestClient) -> None:
    missing = client.get("/api/no-such-thing", headers=ZH)
    assert missing.status_code == 404 and missing.json()["detail"] == "没有这个资源"
    assert missing.headers["content-language"] == "zh-CN"
    assert client.get("/api/no-such-thing", headers=EN).json()["detail"] == "no such resource"
    wrong = client.delete("/healthz", headers=ZH)
    assert wrong.status_code == 405 and wrong.json()["detail"] == "不支持该请求方法"


def test_login_failure_per_language(client: TestClient, engine) -> None:
    create_user(engine, "msg-reader", "viewer")
    form = {"username": "msg-reader", "password": "not-the-password"}
    zh = client.post("/api/auth/token", data=form, headers=ZH)
    en = client.post("/api/auth/token", data=form, headers=EN)
    assert zh.status_code == en.status_code == 401
    assert zh.json()["detail"] == "用户名或密码错误" and en.json()["detail"] == "wrong user name or password"
    assert zh.headers["www-authenticate"].startswith("Bearer")


def test_unauthorized_in_chinese(client: TestClient) -> None:
    resp = client.get("/api/auth/me", headers=ZH)
    assert resp.status_code == 401 and resp.json()["detail"] == "请登录：此操作需要账号（POST /api/auth/token）"


@pytest.mark.xfail(strict=True, reason="app/api/middleware.py (ReadGate) has yet to pass scope= and zh= to "
                                       "send_error; remove this mark when it does")
def test_token_refused_by_the_middleware_in_chinese(client: TestClient) -> None:
    resp = client.get("/api/auth/me", headers={**ZH, "Authorization": "Bearer not-a-token"})
    assert resp.status_code == 401 and resp.json()["detail"] == "令牌无效"


def test_incident_in_chinese() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    resp = TestClient(ErrorGuard(broken)).get("/", headers=ZH)
    assert resp.status_code == 500 and resp.json()["detail"].startswith("内部错误，事件编号 ")
    assert resp.json()["messages"]["en"].startswith("internal error, incident ")
    assert "boom" not in resp.text


@pytest.mark.parametrize(("headers", "detail", "said"), [(ZH, "太大了", "zh-CN"), (EN, "too large", "en")])
def test_middleware_errors_follow_the_scope(headers: dict[str, str], detail: str, said: str) -> None:
    async def guard(scope: Scope, receive: Receive, send: Send) -> None:
        await send_error(send, 413, "PayloadTooLarge", "too large", zh="太大了", scope=scope)

    resp = TestClient(guard).post("/", headers=headers)
    assert resp.status_code == 413 and resp.json()["detail"] == detail
    assert resp.headers["content-language"] == said and resp.headers["vary"] == "Accept-Language"


def test_middleware_error_without_chinese_says_english() -> None:
    async def guard(scope: Scope, receive: Receive, send: Send) -> None:
        await send_error(send, 400, "InvalidParameterValue", "bad", scope=scope)

    resp = TestClient(guard).get("/", headers=ZH)
    assert resp.json()["detail"] == "bad" and resp.json()["messages"] == {"en": "bad"}
    assert resp.headers["content-language"] == "en"


@pytest.mark.parametrize(("env", "lang"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"), ({}, "en"), ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"), ({"LANG": "en_US", "LC_MESSAGES": "zh_TW"}, "zh"),
])
def test_cli_language_from_locale(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], lang: str) -> None:
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert language() == lang


@pytest.mark.parametrize(("locale", "said"), [("zh_CN.UTF-8", "xlsx 是文件：请给出 --out 路径"),
                                              ("en_US.UTF-8", "xlsx is a file: give --out PATH")])
def test_cli_error_in_the_locale_language(db_url: str, locale: str, said: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES")}
    run = subprocess.run([sys.executable, "-m", "app.cli", "check", "far_min", "--format", "xlsx"],
                         env={**env, "DATABASE_URL": db_url, "LANG": locale, "COLUMNS": "200"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert said in run.stderr
