"""Build hook (hatchling): a wheel of netlookup is the whole product, with its migrations, the web page and the
offline API explorers.

The migrations stay at the top of the repository (``alembic/``, ``alembic.ini``), where Alembic's own command
finds them; the wheel carries them in ``netlookup/_alembic/``, where ``netlookup db upgrade`` looks first. The page is built from ``web/`` into ``src/netlookup/webui/`` (not committed). A page already built there is
reused (the Dockerfile's Node stage and ``./scripts/build-web`` provide one); otherwise the hook runs the web
build (``npm ci``, ``npm run build``), which needs Node.js 20.19+ and npm. Where they are missing the build fails
and says so, unless ``NETLOOKUP_WHEEL_WITHOUT_PAGE=1`` asks for a wheel without the page (its ``/`` then says how
to build one). Editable installs read the page from the checkout and skip all of this.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

WITHOUT_PAGE = "NETLOOKUP_WHEEL_WITHOUT_PAGE"


class WheelBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return
        root = Path(self.root)
        build_data["force_include"][str(root / "alembic")] = "netlookup/_alembic/alembic"
        build_data["force_include"][str(root / "alembic.ini")] = "netlookup/_alembic/alembic.ini"
        webui = root / "src" / "netlookup" / "webui"
        if not (webui / "index.html").is_file():
            if os.environ.get(WITHOUT_PAGE) == "1":
                self.app.display_warning(f"{WITHOUT_PAGE}=1: a wheel without the web page")
                return
            self._build_page(root)
        # The page is ignored by git (a build output): named here, or the wheel would leave it out.
        build_data["force_include"][str(webui)] = "netlookup/webui"

    def _build_page(self, root: Path) -> None:
        web = root / "web"
        npm = shutil.which("npm")
        if npm is None or shutil.which("node") is None:
            raise RuntimeError(
                "the wheel carries the web page, and building it needs Node.js 20.19+ and npm, which are not on "
                "PATH: install them, or build the page first (./scripts/build-web), or set "
                f"{WITHOUT_PAGE}=1 for a wheel without the page"
            )
        if not (web / "package.json").is_file():
            raise RuntimeError(f"no web/ sources beside pyproject.toml to build the page from ({web})")
        self.app.display_info("building the web page (npm ci, npm run build)")
        for args in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
            subprocess.run(args, cwd=web, check=True)
        if not (root / "src" / "netlookup" / "webui" / "index.html").is_file():
            raise RuntimeError("the web build ran but wrote no src/netlookup/webui/index.html")
