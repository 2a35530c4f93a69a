"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from pagewire.api.deps import ServicesDep
from pagewire.errors import PagewireError
from pagewire.store.migrate import is_behind

router = APIRouter(tags=["health"])


class Readiness(BaseModel):
    status: str = Field(description="ok or unavailable")
    database: str | None = Field(None, description="why not ready")


@router.get("/healthz", operation_id="healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: see database"}},
    summary="Readiness: database reachable and migrations current",
)
async def readyz(services: ServicesDep) -> JSONResponse:
    store = services.store
    try:
        await store.db.ping()
        behind = await is_behind(store.db)
    except (PagewireError, OSError) as error:
        return JSONResponse({"status": "unavailable", "database": str(error)}, 503)
    if behind:  # a database a later release migrated is ahead, not pending: still ready
        return JSONResponse({"status": "unavailable", "database": "migrations pending"}, 503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    await services.refresh_metrics()
    return Response(generate_latest(services.registry), media_type=CONTENT_TYPE_LATEST)
