"""Request dependencies: who is calling and for which tenant, and the service clients.

Until the gateway-identities issue lands, API keys come from GATEWAY_API_KEYS
(key -> tenant); every request is bound to exactly that tenant.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.clients.channels import ServiceClients
from gateway.errors import Problem

_bearer = HTTPBearer(auto_error=False, description="API key of a store app or partner")


def _clients(request: Request) -> ServiceClients:
    clients: ServiceClients = request.app.state.clients
    return clients


def _tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None:
        raise Problem(
            401,
            "unauthenticated",
            "Unauthenticated",
            "Authorization: Bearer <api key> is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    keys: dict[str, str] = request.app.state.settings.gateway_api_keys
    for key, tenant in keys.items():
        if secrets.compare_digest(key.encode(), credentials.credentials.encode()):
            return tenant
    raise Problem(
        401,
        "unauthenticated",
        "Unauthenticated",
        "the API key is not valid",
        headers={"WWW-Authenticate": "Bearer"},
    )


ClientsDep = Annotated[ServiceClients, Depends(_clients)]
TenantDep = Annotated[str, Depends(_tenant)]
