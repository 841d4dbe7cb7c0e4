"""Prometheus metrics shared by all services (scraped from METRICS_PORT)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

GRPC_REQUESTS = Counter("regulars_grpc_requests_total", "gRPC calls served", ["method", "code"])
GRPC_LATENCY = Histogram(
    "regulars_grpc_latency_seconds",
    "gRPC call latency",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
EVENTS_PUBLISHED = Counter("regulars_events_published_total", "Events published to Kafka", ["topic", "type"])
EVENTS_CONSUMED = Counter(
    "regulars_events_consumed_total", "Events consumed, by outcome", ["group", "type", "outcome"]
)
OUTBOX_PENDING = Gauge("regulars_outbox_pending", "Events the last relay pass found waiting", ["collection"])


def serve(port: int) -> None:
    if port:
        start_http_server(port)
