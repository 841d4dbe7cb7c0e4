"""`python -m gateway.admin`: manage API keys from the command line (Typer + Rich).

Reads MONGODB_URL (and REGULARS_NAMESPACE) like the gateway. A created key is printed once.
`make key ARGS='--tenant acme --name "POS 01" --scope members:write'` runs `create-key` with the
project's venv and the store `make run` uses; `make admin ARGS='list-keys --tenant acme'` any
command.
"""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer
from pymongo import AsyncMongoClient
from rich.console import Console
from rich.table import Table

from chassis import mongo
from chassis.mongo import Document
from gateway.apikeys import ApiKeyStore
from gateway.identity import SCOPES

app = typer.Typer(add_completion=False, help="Manage Regulars API keys.")
console = Console()


NO_STORE = """\
MONGODB_URL is not set: the keys live in the gateway's database. `make key ARGS='…'` (or
`make admin ARGS='…'`) sets it to the store `make run` uses; or set it yourself, e.g.
MONGODB_URL=mongodb://127.0.0.1:27017/ (and REGULARS_NAMESPACE if the gateway runs in one)."""


def _store() -> tuple[ApiKeyStore, AsyncMongoClient[Document]]:
    url = os.environ.get("MONGODB_URL")
    if not url:
        # Not BadParameter: the command line was right; a usage text would send one looking there.
        typer.echo(NO_STORE, err=True)
        raise typer.Exit(2)
    client = mongo.connect(url)
    db = client[f"{os.environ.get('REGULARS_NAMESPACE', '')}regulars_gateway"]
    return ApiKeyStore(db, cache_seconds=0), client


@app.command("create-key")
def create_key(
    tenant: Annotated[str, typer.Option(help="Tenant the key acts for")],
    name: Annotated[str, typer.Option(help="Who uses it, e.g. 'POS Shanghai 01'")],
    scope: Annotated[list[str], typer.Option(help=f"Repeat for each: {', '.join(sorted(SCOPES))}")],
    store: Annotated[str | None, typer.Option(help="Restrict to one store")] = None,
) -> None:
    """Create a key; it is shown once."""
    unknown = sorted(set(scope) - set(SCOPES))
    if unknown:
        raise typer.BadParameter(f"unknown scopes: {', '.join(unknown)}", param_hint="--scope")

    async def run() -> str:
        store_, client = _store()
        try:
            key, plaintext = await store_.create(tenant_id=tenant, name=name, scopes=scope, store_id=store)
        finally:
            await client.close()
        console.print(f"created key [bold]{key.id}[/] for tenant {tenant} with {', '.join(key.scopes)}")
        return plaintext

    plaintext = asyncio.run(run())
    console.print("Store it now; it is not shown again:")
    print(plaintext)


@app.command("revoke-key")
def revoke_key(tenant: Annotated[str, typer.Option()], key_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke a key (effective within the gateway's key cache time)."""

    async def run() -> bool:
        store_, client = _store()
        try:
            return await store_.revoke(tenant, key_id)
        finally:
            await client.close()

    if not asyncio.run(run()):
        console.print(f"[red]no live key {key_id} in tenant {tenant}[/]")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")


@app.command("list-keys")
def list_keys(tenant: Annotated[str, typer.Option()]) -> None:
    """List a tenant's keys (never the keys themselves)."""

    async def run() -> Table:
        store_, client = _store()
        try:
            keys = await store_.list(tenant)
        finally:
            await client.close()
        table = Table("id", "name", "scopes", "store", "created", "revoked")
        for k in keys:
            table.add_row(
                k.id,
                k.name,
                " ".join(k.scopes),
                k.store_id or "",
                f"{k.created_at:%Y-%m-%d %H:%M}",
                f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
            )
        return table

    console.print(asyncio.run(run()))


if __name__ == "__main__":
    app()
