"""``POST /webhook``: a short-lived link that opens the webhook portal for the caller's organization."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from pagewire.api.auth import principal
from pagewire.api.deps import ServicesDep
from pagewire.kernel.timefmt import iso
from pagewire.models import Principal
from pagewire.portal.context import signer_for
from pagewire.portal.sessions import link_token

router = APIRouter(tags=["webhooks"])


class PortalLinkOut(BaseModel):
    link: str = Field(description="opens the portal once; hand it to one person")
    expires_at: str


@router.post(
    "/webhook",
    response_model=PortalLinkOut,
    summary="A one-time link to the webhook portal for your organization",
)
async def create_portal_link(
    caller: Annotated[Principal, Depends(principal)], services: ServicesDep
) -> PortalLinkOut:
    settings = services.settings
    link = await services.store.portal.create_link(
        caller.org_id, ttl_seconds=settings.portal_link_ttl_seconds
    )
    token = link_token(signer_for(services), link.id, link.org_id, link.expires_at)
    return PortalLinkOut(
        link=f"{settings.public_url.rstrip('/')}/portal/start?token={token}",
        expires_at=iso(link.expires_at) or "",
    )
