"""The paper-card import against the real members service: bad rows reported, re-runs harmless."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
from regulars.members.v1 import members_pb2, members_pb2_grpc

from devstack.processes import ROOT, Stack, free_port
from tests.support import fresh_namespace, server_urls

CSV = """phone,name,surname,gender,birthday,store_id,tags,notes,card_no
13800001001,Li,Wang,女,03-08,sh-01,vip;likes red,"calm, prefers phone calls",P-0001
13800001002,Mei,Zhang,f,1990-12-24,sh-01,,,P-0002
12345,Bad,Phone,f,,sh-01,,,P-0003
13800001004,,Noname,f,,sh-01,,,P-0004
13800001005,Fang,Liu,m,02-30,sh-01,,,P-0005
13800001001,Li,Again,f,,sh-01,,,P-0006
13800001007,Jun,"Multi
Line",m,,sh-01,,,P-0007
"""


def run_import(csv: Path, stack: Stack, tenant: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "services.members.entrypoints.csv_import_cli",
            str(csv),
            "--tenant",
            tenant,
            "--members",
            f"127.0.0.1:{stack.ports['members']}",
        ],
        env=stack.base_env() | {"COLUMNS": "200"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_paper_cards_import_with_bad_rows_reported_by_line_and_a_rerun_changes_nothing(
    tmp_path: Path,
) -> None:
    mongodb, kafka = server_urls()
    stack = Stack(
        mongodb_url=mongodb,
        kafka_bootstrap_servers=kafka,
        namespace=fresh_namespace(),
        ports={"members": free_port()},
    )
    csv = tmp_path / "cards.csv"
    csv.write_text(CSV, encoding="utf-8")
    try:
        stack.start("members")
        first = run_import(csv, stack, "tenant-import")
        assert first.returncode == 1, first.stdout + first.stderr
        assert "3 new members, 0 already members, 4 bad rows" in first.stdout
        bad_lines = {
            int(line.split()[1])
            for line in first.stdout.splitlines()
            if line.startswith("│") and line.split()[1].isdigit()
        }
        assert bad_lines == {4, 5, 6, 7}  # bad phone, no name, 30 February, duplicate of line 2

        again = run_import(csv, stack, "tenant-import")
        assert "0 new members, 3 already members, 4 bad rows" in again.stdout

        with grpc.insecure_channel(f"127.0.0.1:{stack.ports['members']}") as ch:
            li = members_pb2_grpc.MembersServiceStub(ch).FindMemberByPhone(
                members_pb2.FindMemberByPhoneRequest(tenant_id="tenant-import", phone="13800001001")
            )
        assert (li.gender, li.birthday.month, li.birthday.day, list(li.tags)) == (
            "female",
            3,
            8,
            ["vip", "likes red"],
        )
    finally:
        stack.stop_all()
