"""`python -m services.members.entrypoints.csv_import_cli FILE --tenant T`: paper cards become members.

Streams the file (never all in memory), validates every row, enrols the good ones through the
members service (idempotent on the phone, so a re-run after an interruption enrols nobody
twice), shows a progress bar and ends with the bad rows and their line numbers.
Exit code 0 when every row was good, 1 when some were not (the good ones are still in).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import grpc
import typer
from regulars.members.v1 import members_pb2, members_pb2_grpc
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from services.members.domain.csv_import import ImportRow, RowError, read_rows

app = typer.Typer(add_completion=False, help="Import members from a CSV of paper membership cards.")
console = Console()


def _request(tenant: str, row: ImportRow) -> members_pb2.EnrollMemberRequest:
    request = members_pb2.EnrollMemberRequest(
        tenant_id=tenant,
        phone=row.phone,
        name=row.name,
        surname=row.surname,
        store_id=row.store_id,
        channel="import",
        gender=row.gender,
        tags=list(row.tags),
        notes=row.notes,
        card_no=row.card_no,
    )
    if row.birthday:
        month, day, year = row.birthday
        request.birthday.CopyFrom(members_pb2.Birthday(month=month, day=day, year=year or 0))
    return request


@app.command()
def main(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="UTF-8 CSV with a header")
    ],
    tenant: Annotated[str, typer.Option(help="Tenant the members belong to")],
    members: Annotated[str, typer.Option(envvar="MEMBERS_GRPC_ADDR", help="members service host:port")] = (
        "127.0.0.1:50051"
    ),
    region: Annotated[str, typer.Option(help="Region of phone numbers without +")] = os.environ.get(
        "DEFAULT_PHONE_REGION", "CN"
    ),
) -> None:
    created = existing = 0
    errors: list[RowError] = []
    total = file.stat().st_size
    with file.open(encoding="utf-8-sig", newline="") as lines, grpc.insecure_channel(members) as channel:
        api = members_pb2_grpc.MembersServiceStub(channel)
        progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[summary]}"),
            console=console,
        )
        with progress:
            task = progress.add_task("import", total=total, summary="")
            read = 0

            def counted() -> Iterator[str]:
                nonlocal read
                for line in lines:
                    read += len(line.encode())
                    yield line

            for item in read_rows(counted(), region):
                if isinstance(item, RowError):
                    errors.append(item)
                else:
                    try:
                        reply = api.EnrollMember(_request(tenant, item), timeout=10)
                    except grpc.RpcError as err:
                        errors.append(RowError(item.line, "row", err.details() or err.code().name))
                    else:
                        created += reply.created
                        existing += not reply.created
                progress.update(
                    task,
                    completed=read,
                    summary=f"{created} new, {existing} already members, {len(errors)} bad",
                )
            progress.update(task, completed=total)
    console.print(f"{created} new members, {existing} already members, {len(errors)} bad rows")
    if errors:
        table = Table("line", "field", "problem")
        for e in errors:
            table.add_row(str(e.line), e.field, e.message)
        console.print(table)
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
