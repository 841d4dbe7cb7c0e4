"""API keys of the caller's tenant: create (shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from gateway.apikeys import ApiKey, ApiKeyStore
from gateway.deps import AdminKeys
from gateway.errors import Problem
from gateway.identity import SCOPES
from gateway.schemas.api_keys import ApiKeyList, ApiKeyOut, CreateApiKeyBody, CreatedApiKeyOut
from gateway.schemas.problems import responses

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])
KeyId = Annotated[str, Path(min_length=1, max_length=64, description="API key id")]


def _store(request: Request) -> ApiKeyStore:
    store: ApiKeyStore = request.app.state.auth.keys
    return store


def _out(k: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=k.id,
        name=k.name,
        scopes=list(k.scopes),
        store_id=k.store_id,
        cors_origins=list(k.cors_origins),
        created_at=k.created_at,
        revoked_at=k.revoked_at,
    )


@router.post(
    "",
    status_code=201,
    summary="Create an API key",
    description=(
        "A new key for the caller's tenant. The key is in the answer once and never again (only its "
        "hash is stored). Rotate by creating the new key, deploying it, then revoking the old one: "
        "both work meanwhile. Scope `keys:admin`."
    ),
    responses=responses(400, 401, 403, 422, 429),
)
async def create_api_key(body: CreateApiKeyBody, caller: AdminKeys, request: Request) -> CreatedApiKeyOut:
    unknown = sorted(set(body.scopes) - set(SCOPES))
    if unknown:
        raise Problem(
            400,
            "invalid-argument",
            "Invalid argument",
            f"unknown scopes: {', '.join(unknown)}",
            field="scopes",
        )
    key, plaintext = await _store(request).create(
        tenant_id=caller.tenant_id,
        name=body.name,
        scopes=body.scopes,
        store_id=body.store_id,
        cors_origins=body.cors_origins,
    )
    return CreatedApiKeyOut(**_out(key).model_dump(), key=plaintext)


@router.get(
    "",
    summary="List API keys",
    description="Every key of the caller's tenant, revoked ones included; never the keys themselves.",
    responses=responses(401, 403, 429),
)
async def list_api_keys(caller: AdminKeys, request: Request) -> ApiKeyList:
    return ApiKeyList(items=[_out(k) for k in await _store(request).list(caller.tenant_id)])


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    description="The key stops working within the gateway's key cache time (30 s by default).",
    responses=responses(401, 403, 404, 422, 429),
)
async def revoke_api_key(key_id: KeyId, caller: AdminKeys, request: Request) -> Response:
    if not await _store(request).revoke(caller.tenant_id, key_id):
        raise Problem(404, "not-found", "Not found", f"no live API key {key_id}")
    return Response(status_code=204)
