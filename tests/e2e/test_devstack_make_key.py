"""`make key` creates an API key with the project's venv and the store `make run` uses.

Run as a newcomer would after `make run`: a PATH without the venv and no PYTHONPATH (the
system Python has no typer), from the checkout's root.
"""

from __future__ import annotations

import os
import subprocess
import sys

from chassis import mongo
from devstack.processes import ROOT
from gateway.apikeys import PREFIX, ApiKeyStore
from tests.support import fresh_namespace, server_urls


def newcomer_env(namespace: str) -> dict[str, str]:
    mongodb, kafka = server_urls()
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(sys.prefix))
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return env | {
        "PATH": path,
        "MONGODB_URL": mongodb,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "REGULARS_NAMESPACE": namespace,
    }


def make(*args: str, namespace: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "--no-print-directory", *args],
        cwd=ROOT,
        env=newcomer_env(namespace),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_make_key_prints_a_key_that_the_gateway_accepts_for_that_tenant_and_scope() -> None:
    namespace = fresh_namespace()

    done = make("key", "ARGS=--tenant acme --name 'POS 01' --scope members:write", namespace=namespace)

    assert done.returncode == 0, done.stdout + done.stderr
    plaintext = done.stdout.strip().splitlines()[-1]
    assert plaintext.startswith(PREFIX)
    client = mongo.connect(server_urls()[0])
    try:
        keys = ApiKeyStore(client[f"{namespace}regulars_gateway"], cache_seconds=0)
        caller = await keys.authenticate(plaintext)
    finally:
        await client.close()
    assert caller is not None
    assert caller.tenant_id == "acme"
    assert caller.scopes == {"members:write"}


def test_make_key_without_arguments_shows_the_options() -> None:
    done = make("key", namespace=fresh_namespace())

    assert done.returncode == 0, done.stdout + done.stderr
    assert "--tenant" in done.stdout
    assert "--scope" in done.stdout
