"""store.serve(...) refuses bad arguments with an error naming them, and starts nothing."""

from __future__ import annotations

import threading

import pytest

from pytonium_lab import StateStore

PAGE = "<html><body>class</body></html>"


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"writable": "chat"}, TypeError, "writable must be a list"),
        ({"writable": [1]}, TypeError, "namespaces must be str"),
        ({"namespaces": ["slide"], "writable": ["chat"]}, ValueError, r"\['chat'\] are not in namespaces"),
        ({"own": 3}, TypeError, "own must be a namespace name"),
        ({"own": "chat", "writable": ["chat"]}, ValueError, "also in writable"),
        ({"port": 70000}, ValueError, "port must be an int"),
        ({"host": ""}, TypeError, "host must be a non-empty str"),
        ({"max_clients": 0}, ValueError, "max_clients must be a positive number"),
        ({"write_rate": True}, ValueError, "write_rate must be a positive number"),
        ({"certfile": "cert.pem"}, ValueError, "TLS needs both certfile= and keyfile="),
        ({"certfile": "/nonexistent.pem", "keyfile": "/nonexistent.key"}, ValueError, "cannot load the TLS"),
    ],
)
def test_bad_arguments_are_named(options, error, match):
    threads = threading.active_count()
    with pytest.raises(error, match=match):
        StateStore().serve(PAGE, **options)
    assert threading.active_count() == threads  # no server was started


def test_a_page_that_is_neither_html_nor_a_file():
    with pytest.raises(ValueError, match=r"HTML text or the path of an \.html file"):
        StateStore().serve("no-such-page.txt")


def test_a_taken_port_is_an_error_in_the_calling_thread():
    room = StateStore().serve(PAGE)
    try:
        with pytest.raises(OSError, match="in use"):
            StateStore().serve(PAGE, port=room.port)
    finally:
        room.close()


def test_answers_needs_an_own_namespace():
    with StateStore().serve(PAGE) as room, pytest.raises(ValueError, match="no own namespace"):
        room.answers()
