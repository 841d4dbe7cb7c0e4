"""`python -m devstack up`: run the whole platform in the foreground (what `make run` does).

A process that dies is restarted with back-off (devstack.supervisor) while the rest keep
serving, as `restart: unless-stopped` does in compose. Ctrl-C, SIGTERM or SIGHUP stops
everything it started, however often it comes and whether it is sent to devstack or to its
process group (the services lead sessions of their own, so only devstack gets it and stops
each once: a second SIGTERM would make uvicorn skip its drain); see devstack.stopping.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import typer
from rich.console import Console

from devstack import managed
from devstack.processes import (
    DEFAULT_PORTS,
    DEV_API_KEY,
    DEV_TENANT,
    SERVICES,
    Stack,
    StartCancelled,
    parse_replicas,
)
from devstack.stopping import StopRequest
from devstack.supervisor import Restart, Supervisor

app = typer.Typer(add_completion=False, help="Run Regulars locally.")
console = Console()


def _replicas(text: str) -> dict[str, int]:
    try:
        return parse_replicas(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--replicas / REGULARS_REPLICAS") from None


def _api_keys(text: str) -> dict[str, str]:
    """The demo key, and the user's own (GATEWAY_API_KEYS), which win over it on the same key."""
    try:
        keys = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        keys = None
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise typer.BadParameter(
            f'GATEWAY_API_KEYS (--api-keys) must be JSON {{"key": "tenant id"}}: {text!r}'
        )
    return {DEV_API_KEY: DEV_TENANT} | keys


def platform_stack(
    mongodb_url: str,
    kafka: str,
    replicas: str = "",
    api_keys: str = "",
    namespace: str = "",
    free_ports: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> Stack:
    """The Stack `up` runs, from its options (each also read from its environment variable)."""
    names = [*SERVICES, "gateway"]
    ports = (
        dict(zip(names, managed.free_ports(len(names)), strict=True)) if free_ports else dict(DEFAULT_PORTS)
    )
    return Stack(
        mongodb_url=mongodb_url,
        kafka_bootstrap_servers=kafka,
        namespace=namespace,
        ports=ports,
        api_keys=_api_keys(api_keys),
        replicas=_replicas(replicas),
        should_stop=should_stop,
    )


@app.command()
def up(
    mongodb_url: str = typer.Option("mongodb://127.0.0.1:27017/", envvar="MONGODB_URL"),
    kafka: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS"),
    replicas: str = typer.Option(
        "", envvar="REGULARS_REPLICAS", help="Processes per service, e.g. members=2,coupons=2"
    ),
    api_keys: str = typer.Option(
        "", envvar="GATEWAY_API_KEYS", help='Static keys added to the demo key: JSON {"key": "tenant id"}'
    ),
    namespace: str = typer.Option(
        "", envvar="REGULARS_NAMESPACE", help="Prefix of every database, topic, consumer group and log"
    ),
    free_ports: bool = typer.Option(
        False, "--free-ports", envvar="REGULARS_FREE_PORTS", help="Free ports instead of 50051-50054, 8000"
    ),
) -> None:
    """Start the four services and the gateway; restart any that dies; Ctrl-C stops them."""
    stop = StopRequest()
    stack = platform_stack(mongodb_url, kafka, replicas, api_keys, namespace, free_ports, stop.requested)
    stop.install()  # before the first child starts: from here on every stop signal is only noted
    try:
        with console.status("starting services…"):
            stack.start_all()
        _print_welcome(stack)
        Supervisor(stack.all_processes(), on_restart=_print_restart).run(until=stop.requested)
    except StartCancelled:
        pass
    finally:
        if stop.requested():
            console.print(f"stopping ({stop.received[0].name})…")
        stack.stop_all()


def _print_welcome(stack: Stack) -> None:
    url = stack.gateway_url
    console.print(f"[bold green]Regulars is running[/]: gateway {url}  (docs: {url}/docs)", soft_wrap=True)
    ports = ", ".join(f"{n}:{'+'.join(map(str, stack.replica_ports[n]))}" for n in SERVICES)
    console.print(f"services: {ports}; logs in var/log/", soft_wrap=True)
    console.print("Try:")
    console.print(
        f"  curl -s -X POST {url}/v1/members -H 'Authorization: Bearer {DEV_API_KEY}' "
        "-H 'Content-Type: application/json' "
        '-d \'{"phone": "+8613800138000", "name": "Li", "surname": "Wang"}\'',
        soft_wrap=True,
    )
    console.print(
        f"  curl -s {url}/v1/members/<id>/inbox -H 'Authorization: Bearer {DEV_API_KEY}'", soft_wrap=True
    )
    own = [key for key in stack.api_keys if key != DEV_API_KEY]
    if own:
        console.print(f"The gateway also takes the {len(own)} key(s) of GATEWAY_API_KEYS.")
    console.print(
        "Another key or tenant: make key ARGS='--tenant acme --name \"POS 01\" --scope members:write'",
        soft_wrap=True,
    )
    console.print("Press Ctrl-C to stop.")


def _print_restart(restart: Restart) -> None:
    console.print(f"[yellow]{restart.describe()}[/] (see var/log/)", soft_wrap=True)


@app.callback()
def main() -> None:
    """Run Regulars locally (the infrastructure comes from `make infra-up`)."""


if __name__ == "__main__":
    app()
