"""The admin CLI says what it needs when it cannot reach a store, instead of a bare usage error."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gateway.admin import app

COMMANDS = [
    ["create-key", "--tenant", "acme", "--name", "POS 01", "--scope", "members:write"],
    ["list-keys", "--tenant", "acme"],
    ["revoke-key", "--tenant", "acme", "01jabc"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: args[0])
def test_without_a_store_url_it_names_the_variable_the_make_target_and_the_local_url(
    monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.delenv("MONGODB_URL", raising=False)

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 2
    assert "MONGODB_URL is not set" in result.output
    assert "make key" in result.output
    assert "mongodb://127.0.0.1:27017/" in result.output
    assert "Usage:" not in result.output, "the options were right: the environment is what is missing"
