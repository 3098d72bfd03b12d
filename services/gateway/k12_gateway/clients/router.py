from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from k12shared import audit
from k12shared.auth import Principal, Role, Scope, requires
from k12shared.db import SessionDep
from k12shared.errors import PROBLEM_RESPONSES
from k12shared.models import ApiClient
from k12shared.pagination import CursorParam, LimitParam, Page, paginate
from k12_gateway.clients import service
from k12_gateway.clients.schemas import ApiClientIn, ApiClientOut, ApiClientWithSecret, RotateIn

router = APIRouter(prefix="/api/v1/api-clients", tags=["api clients"], responses=PROBLEM_RESPONSES)
ClientAdmin = Annotated[Principal, requires(Scope.clients_write, Role.district_admin)]


@router.post("", operation_id="createApiClient", status_code=status.HTTP_201_CREATED, summary="Register a partner integration",
    description="District admins only. The answer carries `client_secret` once: store it now. Exchange it at `POST /auth/token`. Honours `Idempotency-Key`; a replay returns the same secret to the same caller only.",
    response_description="The new client, with its secret",
)
async def create_client(data: ApiClientIn, session: SessionDep, principal: ClientAdmin, request: Request) -> ApiClientWithSecret:
    client, secret = await service.create(session, principal, data)
    await audit.record(session, request, principal, action="create", resource="api_client", resource_id=client.id, district_id=client.district_id)
    return ApiClientWithSecret(**ApiClientOut.model_validate(client).model_dump(), client_secret=secret)


@router.get("", operation_id="listApiClients", summary="The district's API clients",
    description="Cursor-paginated, oldest first; secrets are never listed.",
)
async def list_clients(session: SessionDep, principal: ClientAdmin, cursor: CursorParam = None, limit: LimitParam = 50) -> Page[ApiClientOut]:
    rows, next_cursor = await paginate(session, service.list_query(principal), [ApiClient.id], cursor=cursor, limit=limit)
    return Page(items=[ApiClientOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{id}", operation_id="getApiClient", summary="One API client",
    description="Another district's client answers 404.",
)
async def get_client(id: uuid.UUID, session: SessionDep, principal: ClientAdmin) -> ApiClientOut:
    return ApiClientOut.model_validate(await service.get_for(session, principal, id))


@router.post("/{id}/rotate", operation_id="rotateApiClientSecret", summary="Issue a new secret; the old one stays valid for a grace period",
    description="For rolling a secret without downtime: deploy the new secret within `grace_period_s`, after which the previous one stops working.",
)
async def rotate_secret(id: uuid.UUID, data: RotateIn, session: SessionDep, principal: ClientAdmin, request: Request) -> ApiClientWithSecret:
    client = await service.get_for(session, principal, id)
    secret = await service.rotate(session, client, data.grace_period_s)
    await audit.record(session, request, principal, action="rotate", resource="api_client", resource_id=client.id, district_id=client.district_id)
    return ApiClientWithSecret(**ApiClientOut.model_validate(client).model_dump(), client_secret=secret)


@router.delete("/{id}", operation_id="revokeApiClient", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke a client: no new tokens",
    description="Tokens already issued stay valid until they expire (at most `K12_ACCESS_TOKEN_TTL_S`).",
)
async def revoke_client(id: uuid.UUID, session: SessionDep, principal: ClientAdmin, request: Request) -> Response:
    client = await service.get_for(session, principal, id)
    await service.revoke(session, client)
    await audit.record(session, request, principal, action="delete", resource="api_client", resource_id=client.id, district_id=client.district_id)
    return Response(status_code=204)
