"""`python -m devstack up`: run the whole platform in the foreground (what `make run` does).

A process that dies is restarted with back-off (devstack.supervisor) while the rest keep
serving, as `restart: unless-stopped` does in compose; Ctrl-C or SIGTERM stops everything.
"""

from __future__ import annotations

import signal

import typer
from rich.console import Console

from devstack.processes import DEV_API_KEY, SERVICES, Stack, parse_replicas
from devstack.supervisor import Restart, Supervisor

app = typer.Typer(add_completion=False, help="Run Regulars locally.")
console = Console()


def _replicas(text: str) -> dict[str, int]:
    try:
        return parse_replicas(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--replicas / REGULARS_REPLICAS") from None


@app.command()
def up(
    mongodb_url: str = typer.Option("mongodb://127.0.0.1:27017/", envvar="MONGODB_URL"),
    kafka: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS"),
    replicas: str = typer.Option(
        "", envvar="REGULARS_REPLICAS", help="Processes per service, e.g. members=2,coupons=2"
    ),
) -> None:
    """Start the four services and the gateway; restart any that dies; Ctrl-C stops them."""
    stack = Stack(mongodb_url=mongodb_url, kafka_bootstrap_servers=kafka, replicas=_replicas(replicas))
    try:
        with console.status("starting services…"):
            stack.start_all()
        _print_welcome(stack)
        signal.signal(signal.SIGTERM, _interrupt)
        Supervisor(stack.all_processes(), on_restart=_print_restart).run()
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
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
    console.print("Press Ctrl-C to stop.")


def _print_restart(restart: Restart) -> None:
    console.print(f"[yellow]{restart.describe()}[/] (see var/log/)", soft_wrap=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.callback()
def main() -> None:
    """Run Regulars locally (the infrastructure comes from `make infra-up`)."""


if __name__ == "__main__":
    app()
