"""store.link: a store key and a traitlets trait (an ipywidget's too) follow each other both ways."""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

import ipywidgets
import pytest
import traitlets

from pytonium_lab import Change, StateStore


class Model(traitlets.HasTraits):
    n = traitlets.Int(1)
    anything = traitlets.Any(None)
    f = traitlets.Float(0.5)
    tags = traitlets.Set()


@pytest.fixture
def store() -> StateStore:
    return StateStore()


def writes(store: StateStore) -> list[Change]:
    heard: list[Change] = []
    store.subscribe(heard.append)
    return heard


def test_the_store_wins_when_the_key_is_set(store: StateStore) -> None:
    store.set_state("demo", "n", 5)
    model = Model()
    store.link("demo", "n", (model, "n"))
    assert model.n == 5
    assert store.revision == 1  # nothing written back


def test_else_the_trait_is_written_to_the_store(store: StateStore) -> None:
    model = Model(n=3)
    store.link("demo", "n", (model, "n"))
    assert store.get_state("demo", "n") == 3
    [entry] = store.history()
    assert entry.change.origin == "trait:Model.n"


def test_both_ways_without_echo(store: StateStore) -> None:
    model = Model()
    store.link("demo", "n", (model, "n"))
    heard = writes(store)
    trait_changes: list[Any] = []
    model.observe(lambda change: trait_changes.append(change["new"]), names="n")

    model.n = 7
    assert store.get_state("demo", "n") == 7
    assert [(c.value, c.origin) for c in heard] == [(7, "trait:Model.n")]

    store.set_state("demo", "n", 9)
    assert model.n == 9
    assert [c.value for c in heard] == [7, 9]  # the trait did not write 9 back
    assert trait_changes == [7, 9]

    store.set_state("demo", "other", 1)
    store.set_state("demo", "n", 9)  # equal to the trait: the trait is not touched
    assert trait_changes == [7, 9]


def test_a_value_the_store_refuses_raises_in_the_assignment_and_changes_nothing(store: StateStore) -> None:
    model = Model()
    store.link("demo", "anything", (model, "anything"))
    store.link("demo", "f", (model, "f"))
    before = (store.revision, store.snapshot())
    with pytest.raises(TypeError, match=r"demo\.anything: set is not a state value"):
        model.anything = {1, 2}
    with pytest.raises(ValueError, match=r"demo\.f: float nan is not allowed"):
        model.f = math.nan
    assert (store.revision, store.snapshot()) == before
    model.f = 2.0  # the link still works
    assert store.get_state("demo", "f") == 2.0


def test_a_trait_value_the_store_refuses_at_link_time_raises_and_links_nothing(store: StateStore) -> None:
    model = Model(tags={"a"})
    with pytest.raises(TypeError, match=r"demo\.tags: set is not a state value"):
        store.link("demo", "tags", (model, "tags"))
    assert store.revision == 0
    model.tags = {"b"}  # no observer left behind
    assert store.snapshot() == {}


def test_a_store_value_the_trait_refuses(store: StateStore, caplog: pytest.LogCaptureFixture) -> None:
    store.set_state("demo", "n", "abc")
    model = Model()
    with pytest.raises(ValueError, match=r"demo\.n = 'abc' does not fit Model\.n"):
        store.link("demo", "n", (model, "n"))
    assert (model.n, store.revision) == (1, 1)

    store.set_state("demo", "n", 2)
    store.link("demo", "n", (model, "n"))
    with caplog.at_level(logging.WARNING, logger="pytonium_lab"):
        store.set_state("demo", "n", "xyz")
    assert model.n == 2
    assert "demo.n = 'xyz' does not fit Model.n" in caplog.text
    assert "the trait keeps 2" in caplog.text


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (("demo", "n", object()), TypeError, r"link target for demo\.n must be a tuple \(obj, 'trait_name'\)"),
        (("demo", "n", (object(), "n")), TypeError, r"must be a traitlets\.HasTraits .*got object"),
        (("demo", "n", (Model(), "nope")), ValueError, r"Model has no trait 'nope' to link to demo\.n \(traits: "),
        (("demo", "n", (Model(), 3)), ValueError, "Model has no trait 3"),
        (("demo", "n", (Model(), "n", "x")), TypeError, "must be a tuple"),
        (("", "n", (Model(), "n")), ValueError, "state namespace must not be empty"),
        (("demo", 5, (Model(), "n")), TypeError, "state key must be a str, got int"),
    ],
)
def test_bad_arguments_are_named_and_change_nothing(
    store: StateStore, args: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        store.link(*args)
    assert (store.revision, store._subscribers) == (0, ())


def test_unlink_is_a_callable_handle_with_a_plain_repr(store: StateStore) -> None:
    model = Model()
    link = store.link("demo", "n", (model, "n"))
    assert repr(link) == "<TraitLink demo.n <-> Model.n (active)>"
    link()
    link.unlink()  # again: nothing
    assert not link.active
    assert repr(link) == "<TraitLink demo.n <-> Model.n (inactive)>"
    model.n = 4
    store.set_state("demo", "n", 8)
    assert (model.n, store.get_state("demo", "n")) == (4, 8)
    assert store._subscribers == ()


def test_removing_the_key_leaves_the_trait(store: StateStore) -> None:
    model = Model(n=6)
    store.link("demo", "n", (model, "n"))
    store.remove_state("demo", "n")
    assert model.n == 6
    model.n = 7
    assert store.get_state("demo", "n") == 7


def test_the_trait_is_set_on_the_writers_thread(store: StateStore) -> None:
    model = Model()
    store.link("demo", "n", (model, "n"))
    threads: list[int] = []
    model.observe(lambda change: threads.append(threading.get_ident()), names="n")
    writer = threading.Thread(target=store.set_state, args=("demo", "n", 42))
    writer.start()
    writer.join()
    assert model.n == 42
    assert threads == [writer.ident]


def test_an_int_slider_follows_and_drives_the_store(store: StateStore) -> None:
    slider = ipywidgets.IntSlider(value=10, min=0, max=100)
    link = store.link("settings", "volume", (slider, "value"))
    heard = writes(store)
    assert store.get_state("settings", "volume") == 10

    store.set_state("settings", "volume", 75)
    assert slider.value == 75
    slider.set_state({"value": 30})  # how ipywidgets applies a change from the front end
    assert store.get_state("settings", "volume") == 30
    assert [(c.value, c.origin) for c in heard] == [(75, "python"), (30, "trait:IntSlider.value")]

    store.set_state("settings", "volume", 500)  # the slider clamps: the store agrees with it
    assert slider.value == 100
    assert store.get_state("settings", "volume") == 100
    assert [c.value for c in heard][-2:] == [500, 100]
    assert repr(link) == "<TraitLink settings.volume <-> IntSlider.value (active)>"


def test_two_traits_on_one_key_follow_each_other(store: StateStore) -> None:
    slider = ipywidgets.IntSlider(value=1)
    text = ipywidgets.IntText(value=2)
    store.link("ui", "n", (slider, "value"))
    store.link("ui", "n", (text, "value"))
    assert (slider.value, text.value) == (1, 1)
    heard = writes(store)
    text.value = 5
    assert (slider.value, store.get_state("ui", "n")) == (5, 5)
    assert len(heard) == 1
