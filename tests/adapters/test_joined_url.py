"""The send step joins a request's URL itself (one parse instead of httpx's three, and none for a
URL it sent before): the result must be the very URL httpx makes from the client's base URL,
the path and the params."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.adapters.http import Upstream, joined_url, parsed_url

BASES = [
    "http://descope.demo",  # no path: httpx writes it without the "/" it joins paths to
    "http://h:80",
    "HTTP://H/X",
    "http://descope.demo/scim/v2",
    "https://api.example.com:8443/",
    "http://127.0.0.1:9000/tenant%20one/scim/",
]
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
segments = st.lists(texts.map(lambda s: quote(s, safe="")), min_size=1, max_size=3)
raw_paths = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
params = st.dictionaries(
    st.text(min_size=1, max_size=8), st.one_of(texts, st.integers()), max_size=4
)


_CLIENTS: dict[str, httpx.AsyncClient] = {}  # one per base: each makes an SSL context


def _client(base: str) -> httpx.AsyncClient:
    if base not in _CLIENTS:
        _CLIENTS[base] = httpx.AsyncClient(base_url=base)
    return _CLIENTS[base]


def _by_httpx(base: str, url: str, query: dict[str, str | int] | None) -> str:
    try:
        return str(_client(base).build_request("GET", url, params=query).url)
    except httpx.InvalidURL:
        return "invalid"


def _joined(base: str, url: str, query: dict[str, str | int] | None) -> str:
    client = _client(base)
    target, rest = joined_url(Upstream("t", client)._base, url, query)
    try:
        return str(client.build_request("GET", parsed_url(target), params=rest).url)
    except httpx.InvalidURL:
        return "invalid"


@given(base=st.sampled_from(BASES), path=segments, query=params)
def test_a_quoted_path_and_params_make_the_url_httpx_makes(
    base: str, path: list[str], query: dict[str, str | int]
) -> None:
    url = "/".join(path)
    assert _joined(base, url, query) == _by_httpx(base, url, query)


@given(base=st.sampled_from(BASES), url=raw_paths, query=st.none() | params)
def test_any_path_makes_the_url_httpx_makes(
    base: str, url: str, query: dict[str, str | int] | None
) -> None:
    assert _joined(base, url, query) == _by_httpx(base, url, query)


def test_the_usual_requests_are_joined_here_and_the_rest_left_to_httpx() -> None:
    base = "http://h/scim/v2/"
    page = {"startIndex": 1, "count": 50, "filter": 'displayName eq "HR & Co"'}
    assert joined_url(base, "Groups", page) == (
        "http://h/scim/v2/Groups?startIndex=1&count=50&filter=displayName+eq+%22HR+%26+Co%22",
        None,
    )
    assert joined_url(base, "Groups/g%2F1", None) == ("http://h/scim/v2/Groups/g%2F1", None)
    token = "http://h/api/V1/token"
    assert joined_url(base, token, None) == (token, None)  # absolute: httpx's
    assert joined_url(base, "Groups?x=1", {"y": 2}) == ("Groups?x=1", {"y": 2})
    joined = "http://h/scim/v2/Groups"
    assert joined_url(base, "Groups", {"flag": True}) == (joined, {"flag": True})
    assert joined_url(None, "Groups", page) == ("Groups", page)  # a client without a base


@pytest.mark.parametrize("base", ["", "http://h/scim?tenant=1", "http://h/scim#part"])
def test_a_base_url_httpx_would_join_its_own_way_is_left_to_httpx(base: str) -> None:
    assert Upstream("t", httpx.AsyncClient(base_url=base))._base is None


def test_a_url_sent_again_is_parsed_once_and_a_long_one_left_to_httpx() -> None:
    group = "http://h/scim/v2/Groups/g1"
    assert isinstance(parsed_url(group), httpx.URL)
    assert parsed_url(group) is parsed_url(group)
    filtered = "http://h/scim/v2/Groups?filter=" + "%20or%20".join(["id%20eq%20%22g%22"] * 30)
    assert parsed_url(filtered) == filtered  # a text, which httpx parses
