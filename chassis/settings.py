"""Settings from the environment, shared by every service.

Required values have no default: a service without MONGODB_URL or KAFKA_BOOTSTRAP_SERVERS
refuses to start and says which variable is missing or malformed, instead of failing later
on first use.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """What every service process reads. Names are the environment variable names."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    mongodb_url: str = Field(min_length=1, description="MongoDB connection string")
    kafka_bootstrap_servers: str = Field(min_length=1, description="host:port[,host:port]")
    namespace: str = Field(
        default="",
        pattern=r"^[a-z0-9_]*$",
        validation_alias=AliasChoices("REGULARS_NAMESPACE", "namespace"),
        description="Prefix of database, topic and group names; lets test runs share servers",
    )
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    kafka_topic_partitions: int = Field(default=3, ge=1, description="for topics we create")
    kafka_topic_replication: int = Field(default=1, ge=1, description="for topics we create")
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0 disables /metrics")

    def database_name(self, service: str) -> str:
        return f"{self.namespace}regulars_{service}"

    def topic(self, name: str) -> str:
        return f"{self.namespace}{name}"


class ServiceSettings(CommonSettings):
    """A gRPC service process."""

    grpc_port: int = Field(ge=1, le=65535)
    outbox_relay_enabled: bool = Field(
        default=True, description="Off only in crash tests that need an event to stay unsent"
    )
    outbox_poll_seconds: float = Field(default=0.5, gt=0)
    consumer_max_attempts: int = Field(default=3, ge=1, le=20)
    consumer_retry_backoff_seconds: float = Field(default=0.2, ge=0)
    shutdown_grace_seconds: float = Field(default=5.0, ge=0)


S = TypeVar("S", bound=BaseSettings)


def load(cls: type[S]) -> S:
    """Build settings or exit with a message naming each bad variable."""
    try:
        return cls()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            lines.append(f"  {name}: {err['msg']}")
        raise SystemExit("configuration error:\n" + "\n".join(lines)) from None
