"""The wheel is the whole product: built from a clean clone of the repository and installed into a fresh
virtualenv (away from the checkout), it migrates a database, loads demo data and serves the page, the offline
explorer and lookups."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.processes import ServiceMissing, free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".venv" / "bin" / "uv"  # pinned in the dev tools (scripts/sync-venv)
BUILT_PAGE = ROOT / "src" / "netlookup" / "webui"

pytestmark = pytest.mark.slow


def _run(args: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-4000:]}"
    return result  # type: ignore[no-any-return]


def _clean_clone(tmp_path: Path) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        raise ServiceMissing("git and a git checkout are needed to clone the repository")
    if not UV.exists():
        raise ServiceMissing("uv is not in .venv (run ./scripts/sync-venv --extra dev)")
    clone = tmp_path / "clone"
    _run(["git", "clone", "--quiet", "--no-hardlinks", ROOT, clone])
    return clone


def _build(clone: Path, out: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(UV), "build", "--wheel", "--python", sys.executable, "--out-dir", str(out), str(clone)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def test_a_wheel_from_a_clean_clone_migrates_loads_demo_data_and_serves_the_page(tmp_path: Path) -> None:
    clone = _clean_clone(tmp_path)
    if not (BUILT_PAGE / "index.html").is_file():
        raise ServiceMissing("the page is not built in this checkout (./scripts/build-web)")
    # A page built before packaging is reused, as the Dockerfile's Node stage provides one.
    shutil.copytree(BUILT_PAGE, clone / "src" / "netlookup" / "webui")
    built = _build(clone, tmp_path / "dist")
    assert built.returncode == 0, built.stderr[-4000:]
    (wheel,) = (tmp_path / "dist").glob("netlookup-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "netlookup/_alembic/alembic.ini" in names
    assert "netlookup/_alembic/alembic/env.py" in names
    migrations = {Path(n).name for n in names if n.startswith("netlookup/_alembic/alembic/versions/")}
    assert migrations == {p.name for p in (ROOT / "alembic" / "versions").glob("*.py")}
    assert "netlookup/webui/index.html" in names
    assert "netlookup/imports/service_names.json" in names

    venv = tmp_path / "venv"
    _run([UV, "venv", "--quiet", "--python", sys.executable, venv])
    requirements = tmp_path / "requirements.txt"
    export = ["export", "--quiet", "--frozen", "--no-dev", "--no-emit-project", "--format", "requirements-txt"]
    _run([UV, *export, "-o", requirements], cwd=ROOT)
    _run([UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python", "-r", requirements, wheel])

    home = tmp_path / "elsewhere"  # nowhere near the checkout: only the installed package can be used
    home.mkdir()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("NETLOOKUP_", "PYTHON", "VIRTUAL_ENV"))
    }
    env |= {"NETLOOKUP_DATABASE_URL": f"sqlite+aiosqlite:///{home / 'netlookup.db'}", "NETLOOKUP_LOG_LEVEL": "WARNING"}
    netlookup = venv / "bin" / "netlookup"
    where = _run([venv / "bin" / "python", "-c", "import netlookup; print(netlookup.__file__)"], cwd=home, env=env)
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    assert "head" in _run([netlookup, "db", "upgrade"], cwd=home, env=env).stdout
    _run([netlookup, "demo-data", "--scale", "0.01"], cwd=home, env=env)
    port = free_port()
    server = subprocess.Popen(
        [str(netlookup), "serve", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/readyz", timeout=2).status_code == 200, 60, "the installed node")
        with httpx.Client(base_url=url, timeout=10) as client:
            page = client.get("/")
            assert page.status_code == 200, page.text[:300]
            assert "has not been built" not in page.text
            assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text)
            assert assets, page.text[:500]
            for asset in assets:
                assert client.get(asset).status_code == 200, asset
            docs = client.get("/docs")
            assert docs.status_code == 200
            explorer = re.findall(r'(?:src|href)="(/explorer/[^"]+)"', docs.text)
            assert explorer, docs.text[:500]
            assert all(client.get(path).status_code == 200 for path in explorer)
            sources = client.get("/api/v1/sources").json()
            assert sources, "demo data loaded"
            lookup = client.get("/api/v1/lookup", params={"q": "0.0.0.0/0", "mode": "within", "limit": 1})
            assert lookup.status_code == 200, lookup.text[:300]
            assert sum(result["total"] for result in lookup.json()["results"].values()) > 0
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output, output[-4000:]


def test_a_wheel_needs_the_page_or_says_how_to_do_without(tmp_path: Path) -> None:
    """Without a built page and without Node.js on PATH the build stops and says what to do; asked for a wheel
    without the page, it builds one (whose / says how to build the page)."""
    clone = _clean_clone(tmp_path)
    bare = tmp_path / "bin"  # a PATH with neither node nor npm
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    env.pop("NETLOOKUP_WHEEL_WITHOUT_PAGE", None)
    refused = _build(clone, tmp_path / "dist", env)
    assert refused.returncode != 0
    message = " ".join(refused.stderr.split())
    assert "Node.js" in message, refused.stderr[-3000:]
    assert "NETLOOKUP_WHEEL_WITHOUT_PAGE=1" in message
    assert not list((tmp_path / "dist").glob("*.whl"))

    built = _build(clone, tmp_path / "dist", {**env, "NETLOOKUP_WHEEL_WITHOUT_PAGE": "1"})
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("netlookup-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith("netlookup/webui/")]
    assert "netlookup/_alembic/alembic.ini" in names
