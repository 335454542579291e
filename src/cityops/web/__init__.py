"""The built screens (from `web/`, by `make demo`): the city dashboard at `/`, the operations console
at `/console/` and the citizen page at `/citizen/`, each a single-page app whose unknown paths fall back
to its own page so the browser's router can take them."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("cityops")

BUILD_DIR = Path(__file__).parent / "dist"
PAGES = ("console", "citizen")
# Paths that belong to the API and its documents: never answered with a page.
NOT_PAGES = ("api/", "open311/", "docs", "redoc", "openapi.json", "healthz", "metrics")


def install(app: FastAPI, build_dir: Path = BUILD_DIR) -> bool:
    """Serve the built screens from ``build_dir``; without a build, log how to make one and serve the
    API alone."""
    if not (build_dir / "index.html").is_file():
        log.warning("the web screens are not built (no %s); run `make web` or `make demo` to build them",
                    build_dir / "index.html")
        return False
    app.mount("/assets", StaticFiles(directory=build_dir / "assets"), name="web-assets")

    def page(name: str) -> FileResponse:
        # the page names its hashed bundles, so it must never be cached past a new build
        return FileResponse(build_dir / name, headers={"Cache-Control": "no-cache"})

    @app.get("/{path:path}", include_in_schema=False)
    def screens(path: str) -> FileResponse:
        if path.startswith(NOT_PAGES):
            raise StarletteHTTPException(status_code=404, detail="Not Found")
        section = path.split("/", 1)[0]
        if section in PAGES:
            return page(f"{section}/index.html")
        if "/" not in path and (build_dir / path).is_file() and path != "index.html":
            return page(path)
        return page("index.html")

    return True
