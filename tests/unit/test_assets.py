"""Inlining a page's relative assets (pytonium_lab.notebook._assets)."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest

from pytonium_lab.notebook._assets import inline_assets, inline_css

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "css").mkdir()
    (tmp_path / "img").mkdir()
    (tmp_path / "css" / "style.css").write_text(
        '@import "more.css";\nbody { background: url("../img/dot.png"); }\n', encoding="utf-8"
    )
    (tmp_path / "css" / "more.css").write_text("h1 { color: red; }", encoding="utf-8")
    (tmp_path / "img" / "dot.png").write_bytes(PNG)
    (tmp_path / "app.js").write_text('document.title = "</script> ok";', encoding="utf-8")
    return tmp_path


def data_uri_of(text: str) -> bytes:
    found = re.search(r"data:[\w/+.-]+;base64,([A-Za-z0-9+/=]+)", text)
    assert found, text
    return base64.b64decode(found.group(1))


def test_stylesheet_link_becomes_style_with_urls_inlined(site: Path) -> None:
    out = inline_assets('<link rel="stylesheet" href="css/style.css" media="screen">', site)
    assert out.startswith('<style media="screen">') and out.endswith("</style>")
    assert "dot.png" not in out and "more.css" not in out
    assert base64.b64encode(PNG).decode() in out
    imported = re.search(r'@import url\("data:text/css;base64,([^"]+)"\)', out)
    assert imported and base64.b64decode(imported.group(1)) == b"h1 { color: red; }"


def test_script_src_becomes_inline_script_keeping_attributes(site: Path) -> None:
    out = inline_assets('<script type="module" src="app.js" defer></script>', site)
    assert out == '<script type="module" defer>document.title = "<\\/script> ok";</script>'


def test_img_src_srcset_and_style_attribute(site: Path) -> None:
    out = inline_assets(
        '<img alt="a &amp; b" src="img/dot.png" srcset="img/dot.png 1x, img/dot.png 2x">'
        "<div style=\"background: url('img/dot.png')\"></div>",
        site,
    )
    assert "img/dot.png" not in out
    assert 'alt="a &amp; b"' in out
    assert out.count("data:image/png;base64,") == 4
    assert data_uri_of(out) == PNG


def test_style_element_urls(site: Path) -> None:
    out = inline_assets("<style>p { background: url(img/dot.png) }</style>", site)
    assert data_uri_of(out) == PNG


@pytest.mark.parametrize(
    "html",
    [
        '<script src="https://cdn.example/x.js"></script>',
        '<img src="data:image/png;base64,AAAA">',
        '<link rel="stylesheet" href="//cdn.example/x.css">',
        '<a href="css/style.css">not an asset</a>',
        '<!-- <img src="img/dot.png"> -->',
        "<script>const s = \"<img src='img/dot.png'>\";</script>",
        "<p>no assets</p>",
    ],
)
def test_absolute_urls_links_comments_and_script_bodies_stay(site: Path, html: str) -> None:
    assert inline_assets(html, site) == html


def test_missing_asset_warns_naming_page_and_asset(site: Path) -> None:
    html = '<img src="nope.png">'
    with pytest.warns(UserWarning, match=r"index\.html: asset 'nope\.png' not found"):
        assert inline_assets(html, site, page="index.html") == html


def test_an_asset_that_is_a_directory_warns_saying_so(site: Path) -> None:
    (site / "pics.png").mkdir()
    html = '<img src="pics.png">'
    with pytest.warns(UserWarning, match=r"index\.html: asset 'pics\.png' is a directory"):
        assert inline_assets(html, site, page="index.html") == html


def test_query_and_escaped_names_resolve(site: Path) -> None:
    (site / "my pic.png").write_bytes(PNG)
    out = inline_assets('<img src="my%20pic.png?v=2">', site)
    assert data_uri_of(out) == PNG


def test_inline_css_resolves_against_its_base(site: Path) -> None:
    out = inline_css("a { background: url(dot.png) }", site / "img")
    assert data_uri_of(out) == PNG


def test_import_cycle_stops(site: Path) -> None:
    (site / "a.css").write_text('@import "b.css";', encoding="utf-8")
    (site / "b.css").write_text('@import "a.css";', encoding="utf-8")
    out = inline_assets('<link rel="stylesheet" href="a.css">', site)
    assert out.startswith("<style>")


def test_assets_outside_the_page_folder_are_never_read(tmp_path):
    """A page (maybe not yours) must not pull ~/.ssh into the notebook's saved widget state."""
    web = tmp_path / "web"
    (web / "css").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("TOPSECRET")
    (web / "img.png").write_bytes(b"\x89PNG")
    (web / "css" / "a.css").write_text("body { background: url(../img.png) } p { background: url(../../secret.txt) }")
    os.symlink(tmp_path / "secret.txt", web / "link.png")
    page = (
        '<link rel="stylesheet" href="css/a.css"><img src="../secret.txt"><img src="link.png">'
        '<script src="%2e%2e/secret.txt"></script><img src="/etc/passwd">'
    )
    with pytest.warns(UserWarning, match="leaves the page's folder") as caught:
        out = inline_assets(page, web, page="index.html")
    assert "TOPSECRET" not in out and base64.b64encode(b"TOPSECRET").decode() not in out
    assert base64.b64encode(b"\x89PNG").decode() in out  # ../img.png from css/ is still inside
    assert len([w for w in caught if "leaves the page's folder" in str(w.message)]) >= 3
