"""A service's index: every gRPC command and every event type it consumes, and what handles each.

Each service writes one, `services/<name>/entrypoints/index.py`, and its bootstrap wires both
edges from it: the gRPC server registers `Handlers.register` (in place of the generated
`add_XServiceServicer_to_server`) and the consumer subscribes `Handlers.events`. The commands
are checked against the proto's ServiceDescriptor when the table is built, so a command missing
from the table, or one the proto does not declare, stops the service at start-up naming it,
rather than answering UNIMPLEMENTED (the generated servicer base's default) in production.
Requests are parsed and replies serialised with the message classes of the descriptor's input
and output types; unary-unary and unary-stream methods are served as the descriptor says.
chassis.grpc_server.ErrorMappingInterceptor wraps every command registered this way.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeAlias

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass

from chassis.consumer import Handler as EventHandler

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
# A command: `async def` for a unary reply, an async generator for a stream of replies.
Command: TypeAlias = Callable[[Any, Context], Awaitable[Any] | AsyncIterator[Any]]


@dataclass(frozen=True)
class Handlers:
    """What one service does: its gRPC `commands` by RPC name, and its `events` by event type
    (what `chassis.consumer.by_event_type` returns: each decoded, its tenant checked)."""

    service: ServiceDescriptor
    commands: Mapping[str, Command]
    events: Mapping[str, EventHandler] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = {m.name for m in self.service.methods}
        missing = sorted(declared - self.commands.keys())
        unknown = sorted(self.commands.keys() - declared)
        if missing or unknown:
            problems = ([f"no command for {', '.join(missing)}"] if missing else []) + (
                [f"{', '.join(unknown)} not in the proto"] if unknown else []
            )
            raise ValueError(f"{self.name}: {'; '.join(problems)}")
        for method in self.service.methods:
            _check_shape(self.name, method, self.commands[method.name])
        object.__setattr__(self, "commands", MappingProxyType(dict(self.commands)))
        object.__setattr__(self, "events", MappingProxyType(dict(self.events)))

    @property
    def name(self) -> str:
        """The service's full proto name, as health and reflection list it."""
        return str(self.service.full_name)

    def method_handlers(self) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
        """One RpcMethodHandler per RPC, by RPC name."""
        return {m.name: _method_handler(m, self.commands[m.name]) for m in self.service.methods}

    def register(self, server: grpc.aio.Server) -> None:
        """Serve the commands on `server` (as the generated `add_..._to_server` did)."""
        handlers = self.method_handlers()
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(self.name, handlers),))
        server.add_registered_method_handlers(self.name, handlers)


def _check_shape(service: str, method: MethodDescriptor, command: Command) -> None:
    if method.client_streaming:
        raise ValueError(f"{service}.{method.name}: client-streaming RPCs are not supported")
    if method.server_streaming and not inspect.isasyncgenfunction(command):
        raise ValueError(f"{service}.{method.name} streams: its command must be an async generator")
    if not method.server_streaming and not inspect.iscoroutinefunction(command):
        raise ValueError(f"{service}.{method.name} answers once: its command must be an async def")


def _method_handler(method: MethodDescriptor, command: Command) -> grpc.RpcMethodHandler[Any, Any]:
    request = GetMessageClass(method.input_type)
    reply = GetMessageClass(method.output_type)
    if method.server_streaming:
        return grpc.unary_stream_rpc_method_handler(
            command, request_deserializer=request.FromString, response_serializer=reply.SerializeToString
        )
    return grpc.unary_unary_rpc_method_handler(
        command, request_deserializer=request.FromString, response_serializer=reply.SerializeToString
    )
