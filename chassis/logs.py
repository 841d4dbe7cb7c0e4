"""JSON logs on stdout that never carry personal data.

Keys that hold personal data are masked whatever their value, and anything shaped like a
phone number is masked wherever it appears (messages, exception text, library logs).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

PERSONAL_KEYS = frozenset(
    {"phone", "name", "surname", "email", "openid", "unionid", "address", "birthday", "notes"}
)
# Seven or more digits, optionally with +, spaces or dashes between: phones in any format.
# Not inside a longer word (ULIDs, hashes) and not an ISO date.
_PHONE_LIKE = re.compile(r"(?<![\w+])(?!\d{4}-\d{2}-\d{2})\+?\d(?:[\s-]?\d){6,}(?!\w)")
_TRUSTED_KEYS = frozenset({"timestamp", "level", "service", "logger"})
MASK = "[redacted]"


def redact_text(text: str) -> str:
    return _PHONE_LIKE.sub(MASK, text)


def _redact_value(key: str, value: Any) -> Any:
    if key in _TRUSTED_KEYS:
        return value
    if key.lower() in PERSONAL_KEYS:
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value("", v) for v in value]
    return value


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: runs last before rendering so nothing escapes it."""
    return {k: _redact_value(k, v) for k, v in event_dict.items()}


def configure(service: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route structlog and the standard library (grpc, aiokafka, pymongo) to one JSON stream."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_personal_data,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "kafka", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.contextvars.bind_contextvars(service=service)


def get(name: str) -> Any:
    return structlog.get_logger(name)
