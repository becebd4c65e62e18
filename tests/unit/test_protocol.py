import json

import pytest

from pytonium_lab import _protocol as proto
from pytonium_lab._store import Change


def test_batch_message_shape():
    message = proto.batch_message(3, [Change("ns", "k", [1], False, "python", 9)])
    assert message == {
        "t": "batch",
        "seq": 3,
        "changes": [{"ns": "ns", "key": "k", "value": [1], "removed": False, "origin": "python", "rev": 9}],
    }


def test_encode_round_trips_and_keeps_unicode():
    message = proto.snapshot_message("view:a", 0, 4, {"b", "a"}, {"ns": {"k": "é"}})
    assert json.loads(proto.encode(message)) == {
        "t": "snapshot",
        "to": "view:a",
        "seq": 0,
        "rev": 4,
        "namespaces": ["a", "b"],
        "state": {"ns": {"k": "é"}},
        "ack": 0,
    }
    assert "é" in proto.encode(message)


@pytest.mark.parametrize(
    ("text", "words"),
    [("not json", "not JSON"), ("[1]", "JSON object, got list"), ('"x"', "got str")],
)
def test_decode_rejects_non_objects(text, words):
    with pytest.raises(proto.ProtocolError, match=words):
        proto.decode(text)


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"t": "nope"}, "unknown message type 'nope'"),
        ({}, "unknown message type None"),
        ({"t": "hello"}, "'view' must look like"),
        ({"t": "hello", "view": "view:a b"}, "'view' must look like"),
        ({"t": "hello", "view": "python"}, "'view' must look like"),
        ({"t": "set", "view": "view:a", "ns": "n", "key": "k"}, "no 'value'"),
        ({"t": "chunk", "cid": "c", "i": 0, "n": 0, "data": ""}, "out of range"),
        ({"t": "chunk", "cid": "c", "i": 2, "n": 2, "data": ""}, "out of range"),
        ({"t": "chunk", "cid": 1, "i": 0, "n": 1, "data": ""}, "'cid' must be str"),
    ],
)
def test_parse_view_message_rejects(message, words):
    with pytest.raises(proto.ProtocolError, match=words):
        proto.parse_view_message(message)


def test_chunks_reassemble_in_any_order():
    whole = proto.encode({"t": "set", "view": "view:a", "ns": "n", "key": "k", "value": "x" * 100})
    pieces = [whole[i : i + 30] for i in range(0, len(whole), 30)]
    assembler = proto.ChunkAssembler()
    order = list(range(len(pieces)))[::-1]
    results = [assembler.add({"cid": "c1", "i": i, "n": len(pieces), "data": pieces[i]}) for i in order]
    assert results[:-1] == [None] * (len(pieces) - 1)
    assert results[-1]["value"] == "x" * 100


def test_chunk_assembler_limits_open_messages():
    assembler = proto.ChunkAssembler(max_open=2)
    assembler.add({"cid": "a", "i": 0, "n": 2, "data": "{"})
    assembler.add({"cid": "b", "i": 0, "n": 2, "data": "{"})
    with pytest.raises(proto.ProtocolError, match="too many"):
        assembler.add({"cid": "c", "i": 0, "n": 2, "data": "{"})
    with pytest.raises(proto.ProtocolError, match="count changed"):
        assembler.add({"cid": "a", "i": 1, "n": 3, "data": "}"})


def test_a_message_nested_beyond_recursion_is_a_protocol_error():
    with pytest.raises(proto.ProtocolError, match="nested too deeply"):
        proto.decode("[" * 100_000 + "]" * 100_000)
