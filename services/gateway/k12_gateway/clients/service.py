from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from k12shared.auth import Principal, Role
from k12shared.errors import NotFound
from k12shared.models import ApiClient
from k12_gateway.clients.secrets import hash_secret, new_client_id, new_secret, verify_secret
from k12_gateway.clients.schemas import ApiClientIn


async def create(session: AsyncSession, principal: Principal, data: ApiClientIn) -> tuple[ApiClient, str]:
    secret = new_secret()
    client = ApiClient(
        client_id=new_client_id(),
        name=data.name,
        district_id=principal.acting_district(data.district_id),
        roles=[Role.district_admin],
        scopes=sorted(str(s) for s in data.scopes),
        secret_hash=hash_secret(secret),
        created_by=principal.subject,
    )
    session.add(client)
    await session.flush()
    await session.refresh(client)
    return client, secret


async def get_for(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> ApiClient:
    client = await session.get(ApiClient, client_id)
    if client is None or not principal.can_access_district(client.district_id):
        raise NotFound("API client not found")
    return client


def list_query(principal: Principal):
    stmt = select(ApiClient)
    if not principal.is_platform:
        stmt = stmt.where(ApiClient.district_id.in_(principal.district_ids))
    return stmt


async def rotate(session: AsyncSession, client: ApiClient, grace_period_s: int) -> str:
    secret = new_secret()
    client.previous_secret_hash = client.secret_hash
    client.previous_secret_valid_until = datetime.now(UTC) + timedelta(seconds=grace_period_s)
    client.secret_hash = hash_secret(secret)
    await session.flush()
    return secret


async def revoke(session: AsyncSession, client: ApiClient) -> None:
    client.revoked_at = client.revoked_at or datetime.now(UTC)
    await session.flush()


async def authenticate(session: AsyncSession, client_id: str, secret: str) -> ApiClient | None:
    client = await session.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
    if client is None or client.revoked_at is not None:
        # Spend the same time as a real check so client ids cannot be probed by timing.
        verify_secret(secret, hash_secret("k12s_dummy"))
        return None
    if verify_secret(secret, client.secret_hash):
        return client
    grace = client.previous_secret_valid_until
    if grace and grace > datetime.now(UTC) and verify_secret(secret, client.previous_secret_hash):
        return client
    return None
