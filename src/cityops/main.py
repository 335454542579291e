"""The application: routers, error handlers, middleware and operational endpoints."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cityops import __version__, web
from cityops.calendar.service import CalendarCache
from cityops.cases.service import IntakePolicy
from cityops.classify import model as classifier
from cityops.config import Settings, get_settings
from cityops.db import WalCheckpointer, checkpointing, get_engine, keeps_a_wal, store_status, unit_of_work
from cityops.errors import CityOpsError, InvalidFile, TooManyRequests
from cityops.geo.service import LocatorCache
from cityops.media.blobs import blob_store
from cityops.observability import MetricsMiddleware, RequestMetrics
from cityops.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA_REF, ProblemOut, problem_body
from cityops.sensing import service as sensing_service
from cityops.sensing.alerting import CaseIntake
from cityops.sensing.mqtt import ReadingsConsumer
from cityops.sensing.simulate_fleet import DemoFleet
from cityops.worker import BackgroundWorker

log = logging.getLogger("cityops")


def _settle(application: FastAPI, settings: Settings) -> None:
    """Build the locator and the work calendar and load the category model before the first request
    (the model takes 2–3 s), then move everything alive into the collector's permanent generation:
    otherwise a full collection walks the whole startup heap (libraries, the locator) and pauses
    every request for 100–250 ms (bench/intake.py)."""
    try:
        with unit_of_work(application.state.engine, read_only=True) as session:
            application.state.locators.get(session)
            application.state.calendars.get(session)
    except SQLAlchemyError as error:  # a store not migrated yet: the first request builds them
        log.warning("could not build the locator and calendar at startup: %s", error)
    if settings.classifier_model is not None:
        try:
            application.state.classifier = classifier.load(settings.classifier_model)
        except (OSError, InvalidFile) as error:  # the first request that needs it says why, as a 503
            log.warning("could not load the category model at startup: %s", error)
    gc.collect()
    gc.freeze()


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_of(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "form", "cookie")]
    return ".".join(parts) or str(location[-1]) if location else ""


class RejectNulInUrl:
    """Refuse a NUL character in the path or query before it reaches a store that cannot hold it."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] == "http" and (b"%00" in scope.get("query_string", b"")
                                        or "\x00" in scope.get("path", "")
                                        or b"%00" in scope.get("raw_path", b"")):
            body = problem_body(status=422, code="invalid_input", title="Invalid input",
                                detail="the URL contains a NUL character")
            await problem_response(422, body)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CityOpsError)
    async def _cityops_error(request: Request, exc: CityOpsError) -> JSONResponse:
        if exc.status >= 500:
            log.error("internal error on %s: %s", request.url.path, exc.detail)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return problem_response(exc.status, exc.problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # each error's pydantic ``type``, its plain limits (``ctx``: min_length, pattern …) and a short
        # text input let a client say it in its own language
        errors = [{"field": _field_of(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", ""),
                   "ctx": {key: value for key, value in (e.get("ctx") or {}).items()
                           if isinstance(value, str | int | float | bool)},
                   **({"input": e["input"]} if isinstance(e.get("input"), str) and len(e["input"]) <= 100 else {})}
                  for e in exc.errors()]
        first = errors[0] if errors else {"field": "", "message": "invalid request"}
        body = problem_body(status=422, code="invalid_input", title="Invalid input",
                            detail=f"{first['field']}: {first['message']}", instance=request.url.path,
                            field=first["field"], errors=errors)
        return problem_response(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, f"http_{exc.status_code}")
        body = problem_body(status=exc.status_code, code=code, title=str(exc.detail), detail=str(exc.detail),
                            instance=request.url.path)
        return problem_response(exc.status_code, body, getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _unstorable_value(request: Request, exc: DataError) -> JSONResponse:
        # Values the store cannot hold (a NUL character, a number beyond its column) are bad input,
        # not a server fault; the unit of work has already rolled back.
        body = problem_body(status=422, code="invalid_input", title="Invalid input",
                            detail=f"a value cannot be stored: {str(exc.orig).splitlines()[0]}",
                            instance=request.url.path)
        return problem_response(422, body)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        body = problem_body(status=500, code="internal", title="Internal error",
                            detail="an unexpected error occurred; it has been logged", instance=request.url.path)
        return problem_response(500, body)


def install_problem_openapi(app: FastAPI) -> None:
    """Document every error answer as problem+json: the 422 FastAPI declares and a default for the
    rest (401, 403, 404, 409 …)."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description,
                             routes=app.routes)
        schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
            "ProblemOut", ProblemOut.model_json_schema(ref_template="#/components/schemas/{model}"))
        problem = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA_REF}}
        for methods in schema.get("paths", {}).values():
            for operation in methods.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Invalid input", "content": problem}
                responses["default"] = {"description": "An error (problem+json)", "content": problem}
        for name in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    from cityops.analytics.api import router as analytics_router
    from cityops.calendar.api import router as calendar_router
    from cityops.cases.api import router as cases_router
    from cityops.categories.api import router as categories_router
    from cityops.classify.api import router as classify_router
    from cityops.dashboard.api import router as dashboard_router
    from cityops.geo.api import router as geo_router
    from cityops.media.api import router as media_router
    from cityops.notify.api import router as notify_router
    from cityops.open311.api import router as open311_router
    from cityops.org.api import router as org_router
    from cityops.org.responsibility_api import router as responsibility_router
    from cityops.sensing import stream_api
    from cityops.sensing.api import router as sensing_router
    from cityops.sensing.indicators_api import router as indicators_router
    from cityops.sensing.quality_api import router as quality_router
    from cityops.sensing.rules_api import router as rules_router

    settings = settings or get_settings()
    @asynccontextmanager
    async def lifespan(application: FastAPI):  # noqa: ANN202
        if settings.settle_at_startup or (settings.settle_at_startup is None and settings.environment != "test"):
            _settle(application, settings)
        checkpointer = None
        engine = application.state.engine
        # a second lifespan on the same store (a test harness running its own) leaves the first one's
        if settings.sqlite_checkpoint_interval_s > 0 and keeps_a_wal(engine) and not checkpointing(engine):
            checkpointer = WalCheckpointer(engine, interval_s=settings.sqlite_checkpoint_interval_s).start()
        worker = None
        if settings.sweep_interval_s > 0:
            worker = BackgroundWorker(application.state.engine, settings, interval=settings.sweep_interval_s,
                                      cases=application.state.case_intake)
            worker.start()
        consumer = None
        if settings.mqtt_url:
            consumer = ReadingsConsumer(application.state.engine, settings.mqtt_url,
                                        ingest=partial(sensing_service.ingest, cases=application.state.case_intake))
            consumer.start()
        fleet = None
        if settings.demo_fleet_devices and (settings.environment != "test"
                                            or "demo_fleet_devices" in settings.model_fields_set):
            fleet = DemoFleet(application.state.engine, cases=application.state.case_intake,
                              count=settings.demo_fleet_devices, rate=settings.demo_fleet_rate,
                              fault_every=timedelta(hours=2)).start()
        yield
        if fleet is not None:
            fleet.stop()
        await application.state.live.close()
        if consumer is not None:
            consumer.stop()
        if worker is not None:
            worker.stop()
        if checkpointer is not None:
            checkpointer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="CityOps",
        version=__version__,
        description="City operations platform (城市运行“一网统管”): places, organisation, categories and "
                    "the responsibility matrix. Errors are RFC 9457 problem+json with a stable `code`.",
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine(settings)
    app.state.locators = LocatorCache(boundary_distance_m=settings.boundary_distance_m)
    app.state.calendars = CalendarCache(settings)
    app.state.case_intake = CaseIntake(app.state.locators, app.state.calendars, IntakePolicy.from_settings(settings))
    app.state.blobs = blob_store(settings)
    stream_api.install(app)
    metrics = RequestMetrics()
    app.add_middleware(RejectNulInUrl)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    install_error_handlers(app)
    install_problem_openapi(app)

    @app.get("/healthz", tags=["operations"], summary="Liveness and the store's status")
    def healthz() -> JSONResponse:
        try:
            store = store_status(app.state.engine)
        except Exception as exc:  # noqa: BLE001  (any store failure is what this endpoint reports)
            return JSONResponse({"status": "unavailable", "store": {"ok": False, "error": str(exc)}},
                                status_code=503)
        return JSONResponse({"status": "ok", "version": __version__, "store": store})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    def prometheus_metrics():  # noqa: ANN202
        return metrics.render()

    # A request is matched against the routes in this order, one by one (about 20 µs each): the busiest
    # come first — cases, then readings. No two routers claim the same path, except as noted.
    for router in (cases_router,
                   # before sensing's /devices/{code}, which would take "quality" for a device code
                   quality_router, sensing_router,
                   org_router, geo_router, categories_router, responsibility_router, calendar_router,
                   classify_router, notify_router, media_router, open311_router, analytics_router, rules_router,
                   indicators_router, stream_api.router, dashboard_router):
        app.include_router(router)
    web.install(app)  # last: its page fallback takes only paths no route above claims
    return app
