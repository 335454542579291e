"""Dependency aliases for the API: the unit of work, settings and the caller.

Fetch-or-404 and permission checks live here and in ``cityops.org.access``, nowhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cityops.config import Settings
from cityops.db import end_unit_of_work, new_session
from cityops.errors import NotAuthenticated
from cityops.org import service as org_service
from cityops.org.access import Principal, require
from cityops.org.roles import Permission

bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False,
                              description="A user's JWT from /api/v1/auth/token or an API client's token")


# Dependencies that neither block nor wait are coroutines: FastAPI runs a plain function in its
# thread pool, a hand-over that costs more than what these do.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine_dep(request: Request) -> Engine:
    return request.app.state.engine


async def get_session(request: Request, engine: Annotated[Engine, Depends(get_engine_dep)]
                      ) -> AsyncIterator[Session]:
    """The request's unit of work (``cityops.db.unit_of_work``): made here, as making a session
    never waits, and ended in the thread pool, as committing does."""
    session = new_session(engine, read_only=request.method in ("GET", "HEAD"))
    try:
        yield session
    except BaseException:
        await run_in_threadpool(end_unit_of_work, session, commit=False)
        raise
    await run_in_threadpool(end_unit_of_work, session, commit=True)


AppSettings = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the unit of work commits before the response is sent, so a failed commit
# is reported to the client instead of being lost after a 200.
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def get_optional_principal(session: DbSession, settings: AppSettings,
                           token: Annotated[str | None, Depends(bearer)]) -> Principal | None:
    if not token:
        return None
    return org_service.principal_for_token(session, token=token, secret=settings.secret_key)


async def get_principal(principal: Annotated[Principal | None, Depends(get_optional_principal)]) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in or present an API token")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def requires(permission: Permission):  # noqa: ANN201
    """A dependency that admits only callers holding ``permission``."""

    async def check(principal: CurrentPrincipal) -> Principal:
        require(principal, permission)
        return principal

    return Depends(check)


Reader = Annotated[Principal, requires(Permission.read_records)]
