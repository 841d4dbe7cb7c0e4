"""Bodies of the API key routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from gateway.identity import SCOPES

_EXAMPLE_KEY: dict[str, JsonValue] = {
    "id": "01jd6q3z8m4w1t5x9c2b7n0kae",
    "name": "POS Shanghai 01",
    "scopes": ["members:read", "members:write"],
    "store_id": "sh-01",
    "cors_origins": [],
    "created_at": "2026-11-23T10:00:00Z",
    "revoked_at": None,
}


class CreateApiKeyBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "POS Shanghai 01", "scopes": ["members:read", "members:write"], "store_id": "sh-01"}
            ]
        },
    )

    name: str = Field(min_length=1, max_length=100, description="Who uses the key")
    scopes: list[str] = Field(
        min_length=1, max_length=len(SCOPES), description=f"Any of: {', '.join(sorted(SCOPES))}"
    )
    store_id: str | None = Field(default=None, max_length=64, description="Restrict the key to one store")
    cors_origins: list[str] = Field(
        default_factory=list, max_length=20, description="Web origins allowed to use it"
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_KEY]})

    id: str
    name: str
    scopes: list[str]
    store_id: str | None
    cors_origins: list[str]
    created_at: datetime
    revoked_at: datetime | None


class CreatedApiKeyOut(ApiKeyOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [_EXAMPLE_KEY | {"key": "rg_01jd6q3z8m4w1t5x9c2b7n0kae_s3cr3t"}]}
    )

    key: str = Field(description="The key itself. Shown once: store it now")


class ApiKeyList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_EXAMPLE_KEY]}]})

    items: list[ApiKeyOut]
