"""`python -m devstack up`: run the whole platform in the foreground (what `make run` does)."""

from __future__ import annotations

import signal
import time

import typer
from rich.console import Console

from devstack.processes import DEV_API_KEY, SERVICES, Stack

app = typer.Typer(add_completion=False, help="Run Regulars locally.")
console = Console()


@app.command()
def up(
    mongodb_url: str = typer.Option("mongodb://127.0.0.1:27017/", envvar="MONGODB_URL"),
    kafka: str = typer.Option("127.0.0.1:9092", envvar="KAFKA_BOOTSTRAP_SERVERS"),
) -> None:
    """Start the four services and the gateway; Ctrl-C stops them."""
    stack = Stack(mongodb_url=mongodb_url, kafka_bootstrap_servers=kafka)
    try:
        with console.status("starting services…"):
            stack.start_all()
        url = stack.gateway_url
        console.print(
            f"[bold green]Regulars is running[/]: gateway {url}  (docs: {url}/docs)", soft_wrap=True
        )
        console.print(
            f"services: {', '.join(f'{n}:{stack.ports[n]}' for n in SERVICES)}; logs in var/log/",
            soft_wrap=True,
        )
        console.print("Try:")
        console.print(
            f"  curl -s -X POST {url}/v1/members -H 'Authorization: Bearer {DEV_API_KEY}' "
            "-H 'Content-Type: application/json' "
            '-d \'{"phone": "+8613800138000", "name": "Li", "surname": "Wang"}\'',
            soft_wrap=True,
        )
        console.print(
            f"  curl -s {url}/v1/members/<id>/inbox -H 'Authorization: Bearer {DEV_API_KEY}'",
            soft_wrap=True,
        )
        console.print("Press Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, _interrupt)
        while all(p.alive for p in stack.processes.values()):
            time.sleep(0.5)
        dead = [n for n, p in stack.processes.items() if not p.alive]
        console.print(f"[red]stopped unexpectedly: {', '.join(dead)}[/] (see var/log/)")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("stopping…")
    finally:
        stack.stop_all()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.callback()
def main() -> None:
    """Run Regulars locally (the infrastructure comes from `make infra-up`)."""


if __name__ == "__main__":
    app()
