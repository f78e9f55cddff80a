"""The send step's translations: transport failures, error bodies and 2xx answers it cannot use.

Emulator faults where the emulators offer them; respx for what no server does on purpose
(timeouts, refused connections, odd error bodies).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from app.adapters.http import Upstream
from app.adapters.scim import PAGES_AHEAD, ScimAdapter
from app.emulators import DescopeEmulator
from app.errors import (
    BadUserInput,
    Conflict,
    GatewayError,
    NotFound,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from app.models import Capabilities, GroupRecord

BASE = "http://scim.test/v2"


@pytest.fixture
async def mocked() -> AsyncIterator[tuple[respx.MockRouter, httpx.AsyncClient]]:
    async with (
        respx.mock(base_url=BASE, assert_all_called=False) as router,
        httpx.AsyncClient(base_url=BASE) as client,
    ):
        yield router, client


def group(group_id: str, *members: str) -> dict[str, Any]:
    return {"id": group_id, "displayName": group_id, "members": [{"value": m} for m in members]}


def listing(*groups: dict[str, Any], total: int | None = None) -> dict[str, Any]:
    return {"totalResults": len(groups) if total is None else total, "Resources": list(groups)}


async def test_a_timeout_is_an_upstream_timeout_naming_the_tenant(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/Groups").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(UpstreamTimeout) as caught:
        await Upstream("acme", client).send("GET", "Groups")
    assert caught.value.tenant == "acme"
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


async def test_a_refused_connection_is_upstream_unavailable(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/Groups").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(UpstreamUnavailable) as caught:
        await Upstream("acme", client).send("GET", "Groups")
    assert caught.value.extensions == {"code": "UPSTREAM_UNAVAILABLE", "tenant": "acme"}


@pytest.mark.parametrize(
    ("status", "body", "error", "scim_type"),
    [
        (
            409,
            {"status": "409", "scimType": "uniqueness", "detail": "taken"},
            Conflict,
            "uniqueness",
        ),
        (
            400,
            {"status": 400, "scimType": "invalidFilter", "detail": "bad"},
            BadUserInput,
            "invalidFilter",
        ),
        (404, {"status": 404}, NotFound, None),
        (429, None, RateLimited, None),
        (502, b"<html>bad gateway</html>", UpstreamUnavailable, None),
        (500, b"", UpstreamError, None),
    ],
)
async def test_error_answers_map_onto_the_gateway_errors(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
    status: int,
    body: Any,
    error: type[GatewayError],
    scim_type: str | None,
) -> None:
    router, client = mocked
    answer = (
        httpx.Response(status, content=body)
        if isinstance(body, bytes)
        else httpx.Response(status, json=body)
    )
    router.get("/Groups").mock(return_value=answer)
    with pytest.raises(error) as caught:
        await Upstream("acme", client).send("GET", "Groups")
    assert type(caught.value) is error
    assert (caught.value.status, caught.value.scim_type, caught.value.tenant) == (
        status,
        scim_type,
        "acme",
    )


async def test_a_descope_management_error_gives_its_message(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    body = {"errorCode": "E011001", "errorDescription": "Bad request", "errorMessage": "no tenant"}
    router.post("/mgmt").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(BadUserInput, match="no tenant"):
        await Upstream("acme", client).send("POST", "mgmt", json={})


async def test_scim_json_with_parameters_is_accepted(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/Groups/g1").mock(
        return_value=httpx.Response(
            200,
            content=b'{"id": "g1", "displayName": "G"}',
            headers={"content-type": "application/scim+json; charset=utf-8"},
        )
    )
    assert await Upstream("acme", client).send("GET", "Groups/g1") == {
        "id": "g1",
        "displayName": "G",
    }


async def test_a_list_that_is_not_scim_is_an_upstream_error(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/ServiceProviderConfig").mock(return_value=httpx.Response(404))
    router.get("/Groups").mock(return_value=httpx.Response(200, json={"Resources": "nope"}))
    with pytest.raises(UpstreamError, match="upstream sent an invalid"):
        await ScimAdapter("acme", client).search_groups(None, 1, 10)


async def test_a_missing_service_provider_config_means_default_capabilities(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    route = router.get("/ServiceProviderConfig").mock(return_value=httpx.Response(404))
    adapter = ScimAdapter("acme", client)
    assert await adapter.capabilities() == Capabilities()
    await adapter.capabilities()
    assert route.call_count == 1


async def test_paging_advances_by_what_each_page_held_and_stops_when_all_are_read(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/ServiceProviderConfig").mock(return_value=httpx.Response(404))
    pages = {
        "1": listing(group("a"), group("b"), total=5),
        "3": listing(group("c"), group("d"), total=5),
        "5": listing(group("e"), total=5),
    }
    route = router.get("/Groups").mock(
        side_effect=lambda request: httpx.Response(
            200, json=pages[request.url.params["startIndex"]]
        )
    )
    results = await ScimAdapter("acme", client).get_groups(["a", "b", "c", "d", "e"])
    assert [r.id for r in results if isinstance(r, GroupRecord)] == ["a", "b", "c", "d", "e"]
    assert [c.request.url.params["startIndex"] for c in route.calls] == ["1", "3", "5"]
    assert {c.request.url.params["count"] for c in route.calls} == {"100"}


async def test_an_empty_page_ends_paging_even_when_the_total_says_more(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/ServiceProviderConfig").mock(return_value=httpx.Response(404))
    answers = iter([httpx.Response(200, json=listing(group("a"), total=9))])
    route = router.get("/Groups").mock(
        side_effect=lambda request: next(answers, httpx.Response(200, json={"totalResults": 9}))
    )
    a, b = await ScimAdapter("acme", client).get_groups(["a", "b"])
    assert isinstance(a, GroupRecord) and isinstance(b, NotFound)
    # The first page, then one window of pages asked for at once; the empty ones end it.
    assert route.call_count == 1 + PAGES_AHEAD


async def test_without_a_search_endpoint_members_groups_fall_back_to_gets_for_good(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/ServiceProviderConfig").mock(return_value=httpx.Response(404))
    search = router.post("/Groups/.search").mock(return_value=httpx.Response(404))
    gets = router.get("/Groups").mock(
        return_value=httpx.Response(200, json=listing(group("g1", "u1"), group("g2", "u1", "u2")))
    )
    adapter = ScimAdapter("acme", client)
    first = await adapter.groups_of_members(["u1", "u2", "u3"])
    await adapter.groups_of_members(["u1"])
    assert first.group_ids == [["g1", "g2"], ["g2"], []]
    assert (search.call_count, gets.call_count) == (1, 2)
    assert gets.calls[0].request.url.params["filter"] == (
        'members eq "u1" or members eq "u2" or members eq "u3"'
    )


async def test_a_failing_search_fails_each_member_not_the_batch(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/ServiceProviderConfig").mock(return_value=httpx.Response(404))
    router.post("/Groups/.search").mock(return_value=httpx.Response(503))
    membership = await ScimAdapter("acme", client).groups_of_members(["u1", "u2"])
    assert all(isinstance(ids, UpstreamUnavailable) for ids in membership.group_ids)


# -- faults the Descope emulator injects ---------------------------------------------------


@pytest.fixture
async def descope() -> AsyncIterator[tuple[DescopeEmulator, Upstream]]:
    emulator = DescopeEmulator("P", {"T": "key"}, "mgmt")
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://d.test") as client:
        yield emulator, Upstream("acme", client)


async def test_a_dropped_connection_is_upstream_unavailable(
    descope: tuple[DescopeEmulator, Upstream],
) -> None:
    emulator, upstream = descope
    emulator.faults.drop_next()
    with pytest.raises(UpstreamUnavailable, match="RemoteProtocolError"):
        await upstream.send("GET", "scim/v2/Groups")


async def test_malformed_json_is_an_upstream_error(
    descope: tuple[DescopeEmulator, Upstream],
) -> None:
    emulator, upstream = descope
    emulator.faults.malformed_next()
    with pytest.raises(UpstreamError, match="upstream sent malformed JSON") as caught:
        await upstream.send("GET", "scim/v2/Groups")
    assert type(caught.value) is UpstreamError


async def test_an_html_page_is_an_upstream_error(descope: tuple[DescopeEmulator, Upstream]) -> None:
    emulator, upstream = descope
    emulator.faults.wrong_content_type_next()
    with pytest.raises(UpstreamError, match="upstream sent text/html"):
        await upstream.send("GET", "scim/v2/Groups")


async def test_an_empty_401_is_a_refusal_of_the_gateways_credentials(
    descope: tuple[DescopeEmulator, Upstream],
) -> None:
    emulator, upstream = descope
    emulator.faults.unauthorized_next()
    with pytest.raises(UpstreamError, match="refused the gateway's credentials") as caught:
        await upstream.send("GET", "scim/v2/Groups")
    assert caught.value.extensions == {
        "code": "UPSTREAM_ERROR",
        "tenant": "acme",
        "upstreamStatus": 401,
    }


async def test_pages_after_the_first_are_asked_for_together_and_read_whole(
    mocked: tuple[respx.MockRouter, httpx.AsyncClient],
) -> None:
    router, client = mocked
    router.get("/ServiceProviderConfig").mock(return_value=httpx.Response(404))
    ids = [f"g{i}" for i in range(7)]

    def serve(request: httpx.Request) -> httpx.Response:
        # A server that serves 2 per page, whatever is asked, except a short 4th page.
        start = int(request.url.params["startIndex"])
        size = 1 if start == 5 else 2
        page = [group(i) for i in ids[start - 1 : start - 1 + size]]
        return httpx.Response(200, json=listing(*page, total=len(ids)))

    route = router.get("/Groups").mock(side_effect=serve)
    results = await ScimAdapter("acme", client).get_groups(ids)
    assert [r.id for r in results if isinstance(r, GroupRecord)] == ids
    starts = [int(c.request.url.params["startIndex"]) for c in route.calls]
    # 1, then 3, 5, 7 at once; page 5 is short, so reading goes on right after it from 6.
    assert starts[0] == 1 and sorted(starts[1:4]) == [3, 5, 7] and starts[4:] == [6]
