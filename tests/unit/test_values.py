import math
import re
from pathlib import Path

import pytest

from pytonium_lab._values import MAX_DEPTH, MAX_SAFE_INTEGER, check_name, clean_value, copy_value


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
