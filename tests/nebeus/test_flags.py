"""GET /assets/svg/i_country-<CODE>.svg: bundled flags of every ISO 3166-1 country (§4.3)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import resources

import httpx
import pycountry

from understudy.nebeus import flags

SVG_NS = "{http://www.w3.org/2000/svg}svg"


async def test_every_iso_country_has_a_flag(client: httpx.AsyncClient) -> None:
    bodies = set()
    for country in pycountry.countries:
        r = await client.get(f"/assets/svg/i_country-{country.alpha_2}.svg")
        assert r.status_code == 200, country.alpha_2
        assert r.headers["content-type"] == "image/svg+xml"
        root = ET.fromstring(r.content)
        assert root.tag == SVG_NS, country.alpha_2
        assert root.get("id") == f"flag-icons-{country.alpha_2.lower()}"
        bodies.add(r.content)
    assert len(bodies) == len(pycountry.countries)  # each country its own picture


async def test_flag_headers_and_revalidation(client: httpx.AsyncClient) -> None:
    r = await client.get("/assets/svg/i_country-ES.svg")
    assert r.headers["cache-control"] == "public, max-age=86400"
    etag = r.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert "set-cookie" not in r.headers
    again = await client.get("/assets/svg/i_country-ES.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = await client.get("/assets/svg/i_country-ES.svg", headers={"If-None-Match": '"x"'})
    assert other.status_code == 200 and other.content == r.content
    france = await client.get("/assets/svg/i_country-FR.svg", headers={"If-None-Match": etag})
    assert france.status_code == 200 and france.headers["etag"] != etag


async def test_codes_are_case_insensitive(client: httpx.AsyncClient) -> None:
    upper = await client.get("/assets/svg/i_country-GB.svg")
    for code in ("gb", "Gb"):
        r = await client.get(f"/assets/svg/i_country-{code}.svg")
        assert r.status_code == 200 and r.content == upper.content


async def test_unknown_codes_are_404(client: httpx.AsyncClient) -> None:
    for code in ("ZZ", "XK", "EU", "E", "ESP", "es-ct", "..%2Fes", "%00", "12"):
        r = await client.get(f"/assets/svg/i_country-{code}.svg")
        assert r.status_code == 404, code
        assert r.text == "Not Found"
    assert (await client.post("/assets/svg/i_country-ES.svg")).status_code == 405


async def test_no_session_is_needed_even_with_a_dead_one(client: httpx.AsyncClient) -> None:
    r = await client.get("/assets/svg/i_country-US.svg?session_id=" + "0" * 40)
    assert r.status_code == 200


def test_bundle_matches_iso_and_ships_its_licence() -> None:
    assert flags.available() == sorted(c.alpha_2 for c in pycountry.countries)
    folder = resources.files("understudy.nebeus.flags")
    licence = folder.joinpath("LICENSE").read_text()
    assert "MIT License" in licence and "Panayiotis Lipiridis" in licence
    assert "flag-icons" in folder.joinpath("README.md").read_text()
