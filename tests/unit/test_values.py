import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

from pytonium_lab import StateStore
from pytonium_lab._values import (
    MAX_DEPTH,
    MAX_NAME,
    MAX_SAFE_INTEGER,
    check_name,
    check_namespaces,
    clean_value,
    copy_value,
)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -1,
        MAX_SAFE_INTEGER,
        -MAX_SAFE_INTEGER,
        1.5,
        -0.0,
        "",
        "é",
        [],
        {},
        [1, [2, {"a": None}]],
        {"a": {"b": [True, 1.25, "x"]}},
    ],
)
def test_json_values_are_accepted_and_equal(value):
    assert clean_value("ns", "k", value) == value


def test_bool_stays_bool():
    assert type(clean_value("ns", "k", True)) is bool
    assert type(clean_value("ns", "k", [True])[0]) is bool


@pytest.mark.parametrize(
    ("value", "path", "words"),
    [
        (2**53, "settings.volume", "2**53"),
        (-(2**53), "settings.volume", "2**53"),
        (math.nan, "settings.volume", "nan"),
        (math.inf, "settings.volume", "inf"),
        ([1, 2, {"x": -math.inf}], "settings.volume[2].x", "inf"),
        ({1: "a"}, "settings.volume", "dict keys must be str"),
        ({1, 2}, "settings.volume", "set is not a state value"),
        (b"x", "settings.volume", "bytes"),
        ((1, 2), "settings.volume", "tuple"),
        ([object()], "settings.volume[0]", "object"),
        ({"f": print}, "settings.volume.f", "builtin_function_or_method"),
    ],
)
def test_bad_values_name_the_path_and_type(value, path, words):
    with pytest.raises((TypeError, ValueError)) as info:
        clean_value("settings", "volume", value)
    assert path in str(info.value)
    assert words in str(info.value)


def test_cycles_are_rejected():
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match=r"ns\.k\[1\].*cycle"):
        clean_value("ns", "k", loop)


def test_shared_but_acyclic_objects_are_fine():
    shared = {"a": 1}
    assert clean_value("ns", "k", [shared, shared]) == [{"a": 1}, {"a": 1}]


def test_bool_subclass_of_int_is_not_confused_with_int_bounds():
    class MyInt(int):
        pass

    with pytest.raises(TypeError, match="MyInt"):
        clean_value("ns", "k", MyInt(3))


def test_clean_value_copies_containers():
    original = {"a": [1, 2]}
    cleaned = clean_value("ns", "k", original)
    original["a"].append(3)
    assert cleaned == {"a": [1, 2]}


def test_copy_value_is_deep():
    value = {"a": [{"b": 1}]}
    copied = copy_value(value)
    copied["a"][0]["b"] = 2
    assert value == {"a": [{"b": 1}]}


@pytest.mark.parametrize(
    ("namespace", "key", "error", "words"),
    [
        ("", "k", ValueError, "namespace must not be empty"),
        ("ns", "", ValueError, "key must not be empty"),
        (1, "k", TypeError, "namespace must be a str, got int"),
        ("ns", None, TypeError, "key must be a str, got NoneType"),
    ],
)
def test_check_name(namespace, key, error, words):
    with pytest.raises(error, match=words):
        check_name(namespace, key)


def test_names_up_to_256_characters_are_accepted_longer_ones_refused_naming_them_cut():
    assert MAX_NAME == 256
    check_name("n" * 256, "k" * 256)
    check_name("\U0001f600" * 256, "k")  # characters, not UTF-16 units or bytes
    for namespace, key, label, length in [("n" * 257, "k", "namespace", 257), ("ns", "k" * 10_000, "key", 10_000)]:
        with pytest.raises(
            ValueError, match=f"state {label} '.{{40}}'... is {length} characters long; the limit is 256"
        ) as info:
            check_name(namespace, key)
        assert len(str(info.value)) < 200
    with pytest.raises(ValueError, match=r"the name 'x{40}'\.\.\. is 300 characters long"):
        check_namespaces(["ok", "x" * 300])
    with pytest.raises(TypeError) as info:
        check_name(5, "k" * 10_000)
    assert len(str(info.value)) < 200  # other errors cut the names they show too


def test_the_store_refuses_a_long_name_and_changes_nothing():
    store = StateStore()
    store.set_state("ns", "ok", 1)
    heard = []
    store.subscribe(heard.append)
    for call in (
        lambda: store.set_state("x" * 10_000, "k", 1),
        lambda: store.set_state("fresh", "k" * 257, 1),  # a new namespace: not made empty either
        lambda: store.set_state("ns", "k" * 257, 1),
        lambda: store.remove_state("ns", "k" * 257),
        lambda: store.get_state("n" * 257, "k"),
    ):
        with pytest.raises(ValueError, match="characters long; the limit is 256"):
            call()
    assert store.snapshot() == {"ns": {"ok": 1}} and store.namespaces() == ["ns"]
    assert store.revision == 1 and heard == []


def test_python_and_js_share_one_name_limit():
    source = (Path(__file__).parents[2] / "js" / "src" / "values.ts").read_text()
    assert re.search(r"export const MAX_NAME = (\d+);", source).group(1) == str(MAX_NAME)


def nested(depth: int, leaf=1):
    """``[[...[leaf]...]]``: ``depth`` lists inside each other."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def test_values_up_to_the_depth_limit_are_accepted():
    assert clean_value("ns", "k", nested(MAX_DEPTH)) == nested(MAX_DEPTH)
    deep_dict: object = 1
    for _ in range(MAX_DEPTH):
        deep_dict = {"a": deep_dict}
    assert clean_value("ns", "k", deep_dict) == deep_dict


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 10_000])
def test_deeper_values_are_refused_naming_the_place_and_the_limit(depth):
    with pytest.raises(ValueError, match="levels of nested") as info:
        clean_value("settings", "volume", nested(depth))
    message = str(info.value)
    assert message.startswith("settings.volume[0][0]")
    assert f"more than {MAX_DEPTH} levels" in message
    assert len(message) < 200  # the place is shortened, not 10,000 "[0]"s


def test_python_and_js_share_one_depth_limit():
    source = (Path(__file__).parents[2] / "js" / "src" / "values.ts").read_text()
    assert re.search(r"export const MAX_DEPTH = (\d+);", source).group(1) == str(MAX_DEPTH)


# ---- numpy and pandas ------------------------------------------------------------


def same(a, b) -> bool:
    """Equal with the same types all the way down (``True == 1`` and ``1 == 1.0`` are not enough)."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.bool_(True), True),
        (np.bool_(False), False),
        (np.int8(-3), -3),
        (np.uint64(MAX_SAFE_INTEGER), MAX_SAFE_INTEGER),
        (np.int64(-MAX_SAFE_INTEGER), -MAX_SAFE_INTEGER),
        (np.float16(0.5), 0.5),
        (np.float32(1.25), 1.25),
        (np.float64(-0.0), -0.0),
        (np.array(7), 7),
        (np.array(2.5), 2.5),
        (np.array(True), True),
        (np.array([True, False]), [True, False]),
        (np.arange(6, dtype=np.uint8).reshape(2, 3), [[0, 1, 2], [3, 4, 5]]),
        (np.zeros((2, 0)), [[], []]),
        ({"a": [np.float32(1.5), np.array([1, 2])]}, {"a": [1.5, [1, 2]]}),
    ],
    ids=repr,
)
def test_numpy_values_become_the_json_value_they_hold(value, expected):
    assert same(clean_value("ns", "k", value), expected)


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (np.int64(MAX_SAFE_INTEGER + 1), MAX_SAFE_INTEGER + 1),
        (np.uint64(2**64 - 1), 2**64 - 1),
        (np.float64("nan"), math.nan),
        (np.float32("-inf"), -math.inf),
        (np.array([[1.0, 2.0], [3.0, np.inf]]), [[1.0, 2.0], [3.0, math.inf]]),
        (np.array([0, -(2**62)]), [0, -(2**62)]),
    ],
    ids=repr,
)
def test_numpy_values_out_of_range_get_the_python_values_error(value, plain):
    with pytest.raises(ValueError, match=r"outside|not allowed") as from_numpy:
        clean_value("ns", "k", value)
    with pytest.raises(ValueError, match=r"outside|not allowed") as from_python:
        clean_value("ns", "k", plain)
    assert str(from_numpy.value) == str(from_python.value)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (np.array([1j]), "ns.k: a numpy array of dtype complex128 is not a state value"),
        (np.array(["a"]), "ns.k: a numpy array of dtype <U1 is not a state value"),
        (np.array([None, 1]), "ns.k: a numpy array of dtype object is not a state value"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "ns.k: a numpy array of dtype datetime64[D] is not"),
        ({"x": [np.complex64(1)]}, "ns.k.x[0]: a numpy scalar of dtype complex64 is not a state value"),
        (np.timedelta64(3, "s"), "ns.k: a numpy scalar of dtype timedelta64[s] is not a state value"),
    ],
    ids=repr,
)
def test_other_numpy_dtypes_are_refused_naming_the_place_and_dtype(value, words):
    with pytest.raises(TypeError, match=re.escape(words)):
        clean_value("ns", "k", value)


def test_numpy_bool_is_not_called_a_bool_that_is_refused():
    """It used to be "bool is not a state value (allowed: None, bool, ...)"."""
    assert clean_value("ns", "k", [np.bool_(True)]) == [True]


def test_pandas_objects_name_the_conversion():
    frame = pd.DataFrame({"a": [1, 2]})
    for value in (frame, frame["a"], frame.index, {"deep": [frame.columns]}):
        with pytest.raises(TypeError, match=r"ns\.k.*: a pandas \w+ is not a state value.*\.to_dict\(\).*\.tolist\(\)"):
            clean_value("ns", "k", value)


def test_plain_values_do_not_import_numpy():
    code = (
        "import sys\n"
        "from pytonium_lab import StateStore\n"
        "s = StateStore()\n"
        "s.set_state('a', 'b', [1, {'x': 2.5}])\n"
        "try:\n"
        "    s.set_state('a', 'b', object())\n"
        "except TypeError:\n"
        "    pass\n"
        "print(sorted(m for m in ('numpy', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


_dtypes = hnp.boolean_dtypes() | hnp.integer_dtypes() | hnp.unsigned_integer_dtypes() | hnp.floating_dtypes()


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(
        _dtypes,
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
        elements={"allow_nan": False, "allow_infinity": False},
    )
)
def test_any_finite_numpy_array_is_its_tolist(array):
    plain = array.tolist()
    flat = array.ravel().tolist()
    if any(type(x) is int and abs(x) > MAX_SAFE_INTEGER for x in flat):
        with pytest.raises(ValueError, match="outside"):
            clean_value("ns", "k", array)
    else:
        assert same(clean_value("ns", "k", array), plain)
