import io
import json
import logging
from collections.abc import Iterator

import pytest

from chassis import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.configure("test", "INFO", stream=stream)
    yield stream
    logs.configure("test", "INFO")


def last_line(stream: io.StringIO) -> dict[str, object]:
    out = stream.getvalue().strip().splitlines()
    return dict(json.loads(out[-1]))


def test_personal_fields_are_masked_whatever_their_value(captured: io.StringIO) -> None:
    logs.get("t").info("enrolled", phone="+8613800138000", name="Li", member_id="01ABC")
    line = last_line(captured)
    assert line["phone"] == logs.MASK
    assert line["name"] == logs.MASK
    assert line["member_id"] == "01ABC"


def test_phone_numbers_inside_messages_are_masked(captured: io.StringIO) -> None:
    logs.get("t").warning("could not reach 138 0013 8000 or +86-138-0013-8001")
    text = json.dumps(last_line(captured))
    assert "8000" not in text
    assert "8001" not in text


def test_standard_library_loggers_are_redacted_too(captured: io.StringIO) -> None:
    logging.getLogger("some.library").error("retrying for 13800138000")
    line = last_line(captured)
    assert "13800138000" not in json.dumps(line)
    assert line["level"] == "error"


def test_timestamps_and_ids_survive_redaction() -> None:
    assert logs.redact_text("2026-11-23T10:00:00Z 01JD6Q3Z8M4W1T5X9C2B7N0KAE") == (
        "2026-11-23T10:00:00Z 01JD6Q3Z8M4W1T5X9C2B7N0KAE"
    )
