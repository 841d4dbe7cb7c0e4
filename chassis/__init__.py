"""What every Regulars service shares: settings, logs, MongoDB, Kafka, outbox, gRPC, metrics.

Services import from here; nothing here imports a service.
"""
