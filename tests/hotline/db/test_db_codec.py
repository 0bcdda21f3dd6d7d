"""Encoding events for the log: any value either round-trips through JSON exactly or is
refused with ``EventEncodingError`` naming the field — never stored lossily, never another
exception."""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acd.config import SkillLevel
from acd.events import OfferEnded, OfferOutcome, event_from_dict, event_to_dict
from hotline.db.codec import EventEncodingError, encode_event


@dataclasses.dataclass(frozen=True, slots=True)
class Carrier:
    at: float
    call_id: str
    value: Any


class Colour(enum.Enum):
    RED = "red"


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary(max_size=4)
    | st.sampled_from([Colour.RED, SkillLevel.SENIOR, OfferOutcome.TIMEOUT]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=4) | st.integers(), children, max_size=4)
    ),
    max_leaves=12,
)


def _plain(value: Any) -> Any:
    """What the value should read as after JSON: enums by value, tuples as lists."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@given(values)
def test_values_round_trip_through_json_or_are_refused(value: Any) -> None:
    try:
        encoded = encode_event(Carrier(1.5, "c1", value))
    except EventEncodingError as error:
        assert "Carrier.value" in str(error)
        return
    assert json.loads(json.dumps(encoded.data, allow_nan=False)) == {
        "at": 1.5,
        "call_id": "c1",
        "value": _plain(value),
    }


def test_acd_events_encode_as_the_acd_itself_serialises_them() -> None:
    event = OfferEnded(at=10.0, call_id="c1", agent_id="a1", outcome=OfferOutcome.TIMEOUT)
    encoded = encode_event(event)
    assert {"type": encoded.event, **encoded.data} == event_to_dict(event)
    assert event_from_dict({"type": encoded.event, **encoded.data}) == event
    assert (encoded.call_id, encoded.agent_id, encoded.at) == ("c1", "a1", 10.0)


@pytest.mark.parametrize(
    ("call_id", "complaint"),
    [(7, None), ("x" * 129, "longer than 128"), (["c"], "must be text")],
)
def test_indexed_columns_are_checked(call_id: Any, complaint: str | None) -> None:
    if complaint is None:
        assert encode_event(Carrier(1.0, call_id, None)).call_id == "7"
        return
    with pytest.raises(EventEncodingError, match=complaint):
        encode_event(Carrier(1.0, call_id, None))


@pytest.mark.parametrize("at", [True, "12:00", None])
def test_at_must_be_a_number(at: Any) -> None:
    with pytest.raises(EventEncodingError, match=r"Carrier\.at"):
        encode_event(Carrier(at, "c1", None))
