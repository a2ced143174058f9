"""The README's curl example runs as written against a served sample (the host swapped for the test server's)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from sqlalchemy import text

from tests.conftest import TEST_PASSWORD, create_user
from tests.web.conftest import LiveServer

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- readme-example: api -->\s*```sh\n(.*?)```\s*<!-- /readme-example -->", re.S)


def test_readme_api_example_runs(live_server: LiveServer, web_db, tmp_path: Path) -> None:
    (script,) = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert "Authorization: Bearer $TOKEN" in script and "/api/import" in script
    create_user(web_db, "admin", "admin")
    with web_db.connect() as conn:  # the README's town is in the sample
        assert conn.execute(text("SELECT count(*) FROM towns WHERE code = '330282104'")).scalar_one() == 1
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:8000", live_server.url)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PASSWORD": TEST_PASSWORD})
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr)
    assert '"status":"ok"' in run.stdout.replace(" ", "")
    assert (tmp_path / "parcels.zip").read_bytes()[:2] == b"PK"
    assert '"dry_run":true' in run.stdout.replace(" ", "")  # the import's report, nothing written
