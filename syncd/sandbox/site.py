"""What buyers and brokers see in a browser: the public search and listing pages, and the
approval page standing in for Hemnet's customer portal. Plain server-side HTML, no API key.
"""

from __future__ import annotations

from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from syncd.sandbox import lifecycle, wire
from syncd.sandbox.model import Listing
from syncd.sandbox.runtime import Sandbox

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f6f6f3;color:#222}
header{background:#1e6b45;color:#fff;padding:12px 24px}header a{color:#fff}
main{max-width:960px;margin:auto;padding:16px}
.card{background:#fff;border-radius:8px;padding:12px;margin:12px 0;display:flex;gap:12px}
.card img{width:200px;height:150px;object-fit:cover;border-radius:4px}
.gallery img{max-width:100%;margin:4px 0}
.sold{background:#b00020;color:#fff;padding:2px 8px;border-radius:4px}
.note{color:#666;font-size:90%}
"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html lang=sv><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><header><a href='/'>Sandbox-Hemnet</a> "
        "<span class=note>(lokal sandlåda, inte hemnet.se)</span></header>"
        f"<main>{body}</main></body></html>"
    )
    return HTMLResponse(html, status)


def _price(amount: Any) -> str:
    if not isinstance(amount, int):
        return "Pris saknas"
    return f"{amount:,}".replace(",", " ") + " kr"


def _address(listing: Listing) -> str:
    address = listing.fields.get("address") or {}
    parts = [address.get("streetAddress"), address.get("city")]
    return ", ".join(p for p in parts if p) or "Adress saknas"


def _first_image(sb: Sandbox, listing: Listing) -> str | None:
    done = [i for i in sb.world.images_of(listing.id) if i.state == wire.COMPLETED]
    return done[0].url if done else None


async def search(request: Request) -> HTMLResponse:
    sb: Sandbox = request.app.state.sandbox
    sb.settle()
    text = request.query_params.get("q", "").strip().lower()
    city = request.query_params.get("city", "").strip().lower()
    cards = []
    for listing in sb.world.listings.values():
        if not listing.is_visible:
            continue
        address = listing.fields.get("address") or {}
        haystack = " ".join(
            str(v)
            for v in (
                listing.fields.get("title"),
                listing.fields.get("description"),
                _address(listing),
            )
            if v
        ).lower()
        if text and text not in haystack:
            continue
        if city and city != str(address.get("city", "")).lower():
            continue
        image = _first_image(sb, listing)
        picture = f"<img src='{escape(image)}' alt=''>" if image else ""
        cards.append(
            f"<div class=card>{picture}<div><h3><a href='/bostad/{listing.id}'>"
            f"{escape(_address(listing))}</a></h3>"
            f"<p>{escape(str(listing.fields.get('title') or ''))}</p>"
            f"<p><b>{_price(listing.fields.get('askingPrice'))}</b></p></div></div>"
        )
    form = (
        f"<form><input name=q placeholder='Sök' value='{escape(text)}'> "
        f"<input name=city placeholder='Stad' value='{escape(city)}'> <button>Sök</button></form>"
    )
    found = f"<p class=note>{len(cards)} bostäder till salu</p>"
    return _page("Bostäder till salu", form + found + "".join(cards))


async def listing_page(request: Request) -> HTMLResponse:
    sb: Sandbox = request.app.state.sandbox
    sb.settle()
    listing = sb.world.listings.get(str(request.path_params["listing_id"]))
    sale = sb.world.sales.get(listing.sale_id) if listing and listing.sale_id else None
    if listing is None or not (listing.is_visible or sale is not None):
        return _page("Hittades inte", "<h2>Bostaden finns inte eller visas inte</h2>", 404)
    f = listing.fields
    if sale is not None:
        shown = _price(sale.price) if sale.is_price_public else "Slutpris ej offentligt"
        price = f"<p><span class=sold>Såld</span> {sale.contract_date} — {shown}</p>"
    else:
        price = f"<p><b>{_price(f.get('askingPrice'))}</b></p>"
    facts = [
        ("Bostadstyp", f.get("housingForm")),
        ("Upplåtelseform", f.get("tenure")),
        ("Antal rum", f.get("numberOfRooms")),
        ("Boarea", f"{f['livingArea']} m²" if f.get("livingArea") is not None else None),
        ("Avgift/månad", _price(f["monthlyFee"]) if f.get("monthlyFee") is not None else None),
        ("Byggår", f.get("constructionYear")),
        ("Våning", f.get("floor")),
    ]
    rows = "".join(
        f"<tr><th align=left>{k}</th><td>{escape(str(v))}</td></tr>" for k, v in facts if v
    )
    gallery = "".join(
        f"<img src='{escape(i.url)}' alt='{escape(i.caption or '')}'>"
        for i in sb.world.images_of(listing.id)
        if i.state == wire.COMPLETED
    )
    body = (
        f"<h1>{escape(_address(listing))}</h1>{price}"
        f"<p>{escape(str(f.get('title') or ''))}</p><table>{rows}</table>"
        f"<p>{escape(str(f.get('description') or ''))}</p><div class=gallery>{gallery}</div>"
    )
    return _page(_address(listing), body)


async def approve(request: Request) -> HTMLResponse:
    sb: Sandbox = request.app.state.sandbox
    listing = sb.world.listings.get(str(request.path_params["listing_id"]))
    if listing is None:
        return _page("Hittades inte", "<h2>Annonsen finns inte</h2>", 404)
    sb.emit(lifecycle.approve(listing, sb.clock.now()))
    sb.flush()
    state = "visas nu på sajten" if listing.is_visible else "visas när den publiceras"
    return _page("Godkänd", f"<h2>Annons {listing.id} är godkänd</h2><p>Den {state}.</p>")


def site_routes() -> list[Route]:
    return [
        Route("/", search, methods=["GET"]),
        Route(wire.PUBLIC_LISTING_PATH, listing_page, methods=["GET"]),
        Route(wire.APPROVAL_PATH, approve, methods=["GET", "POST"]),
    ]
