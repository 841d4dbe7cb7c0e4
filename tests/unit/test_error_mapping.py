"""Domain errors -> gRPC status (services) and gRPC status -> problem+json (gateway)."""

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from chassis import errors
from chassis.grpc_server import status_for
from gateway.errors import GRPC_TO_HTTP


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.InvalidArgument("phone", "bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.NotFound("gone"), grpc.StatusCode.NOT_FOUND),
        (errors.AlreadyExists("twice"), grpc.StatusCode.ALREADY_EXISTS),
        (errors.FailedPrecondition("paused"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.ResourceExhausted("sold out"), grpc.StatusCode.RESOURCE_EXHAUSTED),
    ],
)
def test_each_domain_error_has_its_status_code(exc: errors.DomainError, code: grpc.StatusCode) -> None:
    status = status_for(exc)
    assert status.code == code
    assert status.details == exc.message


def test_invalid_argument_carries_the_field_as_a_bad_request_detail() -> None:
    status = status_for(errors.InvalidArgument("phone", "phone is not a phone number"))
    ((key, raw),) = status.trailing_metadata
    assert key == "grpc-status-details-bin"
    rich = status_pb2.Status.FromString(raw)
    bad = error_details_pb2.BadRequest()
    assert rich.details[0].Unpack(bad)
    assert bad.field_violations[0].field == "phone"


@pytest.mark.parametrize(
    ("code", "http"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, 400),
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, 429),
        (grpc.StatusCode.UNAVAILABLE, 503),
    ],
)
def test_gateway_maps_grpc_codes_to_http(code: grpc.StatusCode, http: int) -> None:
    assert GRPC_TO_HTTP[code][0] == http
