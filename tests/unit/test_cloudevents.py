from datetime import UTC, datetime

import pytest
from regulars.members.v1 import events_pb2

from chassis import tracing
from chassis.cloudevents import CONTENT_TYPE, Envelope, MalformedEvent, new_event
from chassis.consumer import PermanentError, decode


def sample() -> Envelope:
    return new_event(
        type="regulars.members.v1.member_registered",
        source="regulars/members",
        tenant_id="tenant-a",
        subject="01MEMBER",
        payload=events_pb2.MemberRegistered(member_id="01MEMBER", tenant_id="tenant-a", name="Li"),
        time=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )


def test_headers_follow_the_cloudevents_kafka_binary_binding() -> None:
    headers = dict(sample().headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"regulars.members.v1.member_registered"
    assert headers["ce_subject"] == b"01MEMBER"
    assert headers["ce_tenantid"] == b"tenant-a"
    assert headers["ce_time"] == b"2026-11-23T10:00:00Z"
    assert headers["content-type"] == CONTENT_TYPE.encode()
    assert len(headers["ce_id"]) == 26  # a ULID


def test_an_envelope_survives_a_round_trip_through_record_headers() -> None:
    env = sample()
    assert Envelope.from_record(env.headers(), env.data) == env


def test_event_ids_are_unique_and_sortable_by_creation() -> None:
    ids = [sample().id for _ in range(50)]
    assert len(set(ids)) == 50


@pytest.mark.parametrize("drop", ["ce_id", "ce_type", "ce_tenantid", "ce_time"])
def test_a_record_without_required_headers_is_malformed(drop: str) -> None:
    env = sample()
    headers = [(k, v) for k, v in env.headers() if k != drop]
    with pytest.raises(MalformedEvent, match=drop):
        Envelope.from_record(headers, env.data)


def test_a_record_with_another_content_type_is_malformed() -> None:
    env = sample()
    headers = [(k, b"application/json" if k == "content-type" else v) for k, v in env.headers()]
    with pytest.raises(MalformedEvent, match="content-type"):
        Envelope.from_record(headers, env.data)


def test_a_payload_that_does_not_parse_is_a_permanent_error() -> None:
    env = sample()
    broken = Envelope.from_record(env.headers(), b"\x0a\xff")
    with pytest.raises(PermanentError):
        decode(broken, events_pb2.MemberRegistered)
    assert decode(env, events_pb2.MemberRegistered).name == "Li"


def test_an_event_created_within_a_trace_carries_it_as_ce_traceparent() -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    tracing.bind(request_id="r1", traceparent=trace)
    try:
        env = sample()
    finally:
        tracing.bind()
    assert dict(env.headers())["ce_traceparent"] == trace.encode()
    assert Envelope.from_record(env.headers(), env.data).traceparent == trace
    assert "ce_traceparent" not in dict(sample().headers())
