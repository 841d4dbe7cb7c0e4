import pytest

from chassis.settings import ServiceSettings, load


def test_a_missing_required_variable_stops_the_start_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGODB_URL", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("GRPC_PORT", "50051")
    with pytest.raises(SystemExit) as exit_:
        load(ServiceSettings)
    assert "MONGODB_URL" in str(exit_.value.code)


def test_a_malformed_variable_stops_the_start_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URL", "mongodb://x/")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    monkeypatch.setenv("GRPC_PORT", "not-a-port")
    with pytest.raises(SystemExit) as exit_:
        load(ServiceSettings)
    assert "GRPC_PORT" in str(exit_.value.code)


def test_the_namespace_prefixes_databases_and_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URL", "mongodb://x/")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k:9092")
    monkeypatch.setenv("GRPC_PORT", "50051")
    monkeypatch.setenv("REGULARS_NAMESPACE", "t1_")
    s = load(ServiceSettings)
    assert s.database_name("members") == "t1_regulars_members"
    assert s.topic("regulars.members.v1") == "t1_regulars.members.v1"
