"""docker-compose.yml, the Dockerfile and nginx/netlookup.conf: valid and consistent (no Docker engine here)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.processes import ServiceMissing

ROOT = Path(__file__).resolve().parents[1]
APP_NODES = ("app1", "app2", "app3")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_has_the_production_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"mariadb", "redis", "migrate", *APP_NODES, "nginx"}
    for name in ("mariadb", "redis", *APP_NODES, "nginx"):
        assert services[name]["healthcheck"]["test"], name
    assert services["migrate"]["command"] == ["netlookup", "db", "upgrade"]
    assert services["migrate"]["depends_on"]["mariadb"]["condition"] == "service_healthy"
    for node in APP_NODES:
        depends = services[node]["depends_on"]
        assert depends["mariadb"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        env = services[node]["environment"]
        assert env["NETLOOKUP_DATABASE_URL"].startswith("mysql+asyncmy://")
        assert env["NETLOOKUP_REDIS_URL"] == "redis://redis:6379/0"
        assert services["nginx"]["depends_on"][node]["condition"] == "service_healthy"


def test_each_compose_node_keeps_its_index_snapshots_on_its_own_volume(compose: dict[str, Any]) -> None:
    services = compose["services"]
    volumes = []
    for node in APP_NODES:
        directory = services[node]["environment"]["NETLOOKUP_INDEX_SNAPSHOT_DIR"]
        mounted = [v.split(":")[0] for v in services[node]["volumes"] if v.split(":")[1] == directory]
        assert len(mounted) == 1, node
        assert mounted[0] in compose["volumes"], node
        volumes.append(mounted[0])
    assert len(set(volumes)) == len(APP_NODES)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "install -d -o netlookup -g netlookup /var/cache/netlookup" in dockerfile, "writable by the service user"


def test_compose_pools_fit_under_max_connections(compose: dict[str, Any]) -> None:
    services = compose["services"]
    max_connections = next(
        int(arg.split("=")[1]) for arg in services["mariadb"]["command"] if arg.startswith("--max-connections=")
    )
    wait_timeout = next(
        int(arg.split("=")[1]) for arg in services["mariadb"]["command"] if arg.startswith("--wait-timeout=")
    )
    per_node = [
        int(services[n]["environment"]["NETLOOKUP_DB_POOL_SIZE"])
        + int(services[n]["environment"]["NETLOOKUP_DB_MAX_OVERFLOW"])
        for n in APP_NODES
    ]
    assert sum(per_node) < max_connections
    assert all(int(services[n]["environment"]["NETLOOKUP_DB_POOL_RECYCLE"]) < wait_timeout for n in APP_NODES)


def test_nginx_config_is_rendered_for_the_compose_nodes() -> None:
    rendered = subprocess.run(
        [
            sys.executable,
            str(ROOT / "nginx" / "render.py"),
            *(a for n in APP_NODES for a in ("--node", f"{n}:8000")),
            "--listen",
            "80",
            "--prefix",
            "/var/cache/nginx",
            "--static-dir",
            "/srv/netlookup/static",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert (ROOT / "nginx" / "netlookup.conf").read_text() == rendered, "render nginx/netlookup.conf again"
    assert "ip_hash;" in rendered
    assert "proxy_buffering off;" in rendered
    assert "proxy_set_header Upgrade $http_upgrade;" in rendered


def test_rendered_config_passes_nginx_syntax_check(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        raise ServiceMissing("nginx is not installed")
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "nginx" / "render.py"),
                "--node",
                "127.0.0.1:8001",
                "--node",
                "127.0.0.1:8002",
                "--listen",
                "127.0.0.1:18080",
                "--prefix",
                str(tmp_path),
                "--balance",
                "consistent",
                "--static-dir",
                str(tmp_path),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_render_refuses_bad_nodes() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "nginx" / "render.py"), "--node", "nohost"], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "HOST:PORT" in result.stderr


def test_dockerfile_runs_one_process_per_container() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["netlookup", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    assert "COPY alembic ./alembic" in dockerfile
    assert "COPY scripts/wheel_build.py ./scripts/" in dockerfile  # the build hook that puts the page in the wheel
    assert "--workers" not in dockerfile
    assert "uv export --frozen" in dockerfile  # the image installs what uv.lock pins
    assert "--require-hashes" in dockerfile
    assert "FROM node:20-slim AS web" in dockerfile  # the page is built in a Node stage
    assert "COPY --from=web /build/src/netlookup/webui ./src/netlookup/webui" in dockerfile


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client")
def test_docker_compose_config_when_the_plugin_exists(tmp_path: Path) -> None:
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("docker client has no compose plugin here; the structure is checked above")
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={"NETLOOKUP_API_KEYS": "k" * 20, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
