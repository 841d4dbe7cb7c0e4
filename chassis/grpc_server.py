"""The gRPC edge every service shares: error mapping, health, reflection, metrics.

Each service's commands are registered from its index (chassis.handlers.Handlers); the
interceptor below wraps every one of them.

Domain errors become status codes here and nowhere else. INVALID_ARGUMENT carries a
google.rpc.BadRequest detail naming the field, which the gateway turns into
problem+json. Anything unexpected is logged and answered INTERNAL without internals.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeAlias

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status

from chassis import errors, logs, metrics, mongo, tracing
from chassis.handlers import Handlers

log = logs.get(__name__)

_CODES: list[tuple[type[errors.DomainError], grpc.StatusCode]] = [
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ResourceExhausted, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
]


def status_for(exc: errors.DomainError) -> grpc.Status:
    """The rich gRPC status for a domain error."""
    code = next((c for t, c in _CODES if isinstance(exc, t)), grpc.StatusCode.FAILED_PRECONDITION)
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=exc.message)
    if isinstance(exc, errors.InvalidArgument):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=exc.field, description=exc.message)
                ]
            )
        )
        status.details.append(detail)
    rich: grpc.Status = rpc_status.to_status(status)
    return rich


Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):
    """Maps DomainError to status codes and records per-method metrics."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith("/grpc."):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _wrap_unary(handler.unary_unary, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _wrap_stream(handler.unary_stream, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


async def _abort(context: grpc.aio.ServicerContext[Any, Any], exc: Exception, method: str) -> None:
    if isinstance(exc, errors.DomainError):
        status = status_for(exc)
    elif mongo.is_busy(exc):  # the store stayed busy through the retries: try again shortly
        log.warning("store busy", method=method)
        status = rpc_status.to_status(
            status_pb2.Status(code=code_pb2.UNAVAILABLE, message="the store is busy; retry shortly")
        )
    else:
        log.exception("unexpected error", method=method)
        status = rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message="internal error"))
    metrics.GRPC_REQUESTS.labels(method, status.code.name).inc()
    await context.abort(status.code, status.details, status.trailing_metadata)


def _wrap_unary(inner: Callable[..., Any], method: str) -> Callable[..., Any]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started = time.perf_counter()
        tracing.bind_from_metadata(context.invocation_metadata())
        try:
            response = await inner(request, context)
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await _abort(context, exc, method)
            raise  # unreachable: abort raises
        finally:
            metrics.GRPC_LATENCY.labels(method).observe(time.perf_counter() - started)
        metrics.GRPC_REQUESTS.labels(method, "OK").inc()
        return response

    return wrapper


def _wrap_stream(inner: Callable[..., Any], method: str) -> Callable[..., Any]:
    async def wrapper(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        tracing.bind_from_metadata(context.invocation_metadata())
        try:
            async for item in inner(request, context):
                yield item
        except Exception as exc:
            if isinstance(exc, grpc.aio.AbortError):
                raise
            await _abort(context, exc, method)
        metrics.GRPC_REQUESTS.labels(method, "OK").inc()

    return wrapper


# grpc core cancels calls that wait unserved beyond a small pending queue (1,000 by default);
# a flash sale sends thousands at once, which should queue and be answered, not be cancelled.
SERVER_OPTIONS = [
    ("grpc.server.max_pending_requests", 20_000),
    ("grpc.server.max_pending_requests_hard_limit", 40_000),
]


class GrpcServer:
    """A grpc.aio server serving each service's index (chassis.handlers), with health and
    reflection listing them.

    A plain name stands for a service the caller registers on `.server` itself before `start`:
    chassis.runtime does so with the `(name, register)` pairs of ServiceSpec.grpc_services, which
    each bootstrap fills with its index's `(handlers.name, handlers.register)`.
    """

    def __init__(self, port: int, services: Sequence[Handlers | str]) -> None:
        self.server = grpc.aio.server(interceptors=[ErrorMappingInterceptor()], options=SERVER_OPTIONS)
        self.health = health.aio.HealthServicer()
        self._service_names = [s if isinstance(s, str) else s.name for s in services]
        self._port = port
        self.port = port  # the port bound once started (port 0 binds a free one)
        for service in services:
            if not isinstance(service, str):
                service.register(self.server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            [*self._service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], self.server
        )

    async def start(self) -> None:
        self.port = self.server.add_insecure_port(f"0.0.0.0:{self._port}")
        await self.server.start()
        for name in ["", *self._service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float) -> None:
        """Report NOT_SERVING first so balancers drain us, then finish in-flight calls."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
