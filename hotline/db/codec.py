"""Turning a typed event (any frozen dataclass with ``at``) into the row of the event log.

The event log keeps the event's class name and its fields as JSON, so it can hold every
event the ACD emits without a migration per event type, and a reader can rebuild what
happened from the log alone. Enums are stored by value, nested dataclasses as objects,
tuples and sets as lists; anything JSON cannot hold exactly (NaN, bytes, arbitrary objects)
is refused with an error naming the event and the field, rather than stored lossily.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
from collections.abc import Mapping
from typing import Any

from hotline.db.models import (
    AGENT_ID_LENGTH,
    CALL_ID_LENGTH,
    EVENT_TYPE_LENGTH,
    QUEUE_NAME_LENGTH,
)

# Field names under which events carry the columns the log indexes. The ACD's events use the
# first spelling; the others are accepted so events of other features log just as well.
CALL_ID_FIELDS = ("call_id",)
QUEUE_FIELDS = ("queue", "queue_name")
AGENT_FIELDS = ("agent_id", "agent", "from_agent")


class EventEncodingError(TypeError):
    """The object given to the store cannot be logged faithfully; says which and why."""


@dataclasses.dataclass(frozen=True, slots=True)
class EncodedEvent:
    """One event-log row before insertion: indexed columns plus the full JSON body."""

    event: str
    at: float
    call_id: str | None
    queue: str | None
    agent_id: str | None
    data: dict[str, Any]


def _jsonable(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return _jsonable(value.value, where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EventEncodingError(f"{where} is {value!r}, which JSON cannot hold")
        return value
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name), f"{where}.{f.name}")
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise EventEncodingError(f"{where} has a non-string key {key!r}")
            out[key] = _jsonable(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        return sorted((_jsonable(item, f"{where}[]") for item in value), key=repr)
    raise EventEncodingError(f"{where} is a {type(value).__name__}, which the log cannot hold")


def _text_field(
    data: Mapping[str, Any], names: tuple[str, ...], limit: int, where: str
) -> str | None:
    for name in names:
        value = data.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise EventEncodingError(f"{where}.{name} must be text, not {value!r}")
        text = str(value)
        if len(text) > limit:
            raise EventEncodingError(f"{where}.{name} is longer than {limit} characters")
        return text
    return None


def encode_event(event: object) -> EncodedEvent:
    """Encode ``event`` for the log, or raise ``EventEncodingError`` saying what is wrong."""
    name = type(event).__name__
    if not dataclasses.is_dataclass(event) or isinstance(event, type):
        raise EventEncodingError(f"{name} is not a dataclass event")
    if len(name) > EVENT_TYPE_LENGTH:
        raise EventEncodingError(f"event type name {name!r} is too long")
    data = _jsonable(event, name)
    at = data.get("at")
    if isinstance(at, bool) or not isinstance(at, int | float):
        raise EventEncodingError(f"{name}.at must be a time in epoch seconds, not {at!r}")
    return EncodedEvent(
        event=name,
        at=float(at),
        call_id=_text_field(data, CALL_ID_FIELDS, CALL_ID_LENGTH, name),
        queue=_text_field(data, QUEUE_FIELDS, QUEUE_NAME_LENGTH, name),
        agent_id=_text_field(data, AGENT_FIELDS, AGENT_ID_LENGTH, name),
        data=data,
    )
