"""The committed gen/python must be exactly what proto/ generates: stale stubs cannot land."""

import filecmp
from pathlib import Path

from scripts.gen_proto import DEFAULT_OUT, generate


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    fresh = tmp_path / "python"
    generate(fresh)
    assert _files(fresh) == _files(DEFAULT_OUT), "run `make proto` and commit gen/python"
    stale = [
        str(p) for p in sorted(_files(fresh)) if not filecmp.cmp(fresh / p, DEFAULT_OUT / p, shallow=False)
    ]
    assert not stale, f"run `make proto` and commit gen/python; stale: {stale}"
