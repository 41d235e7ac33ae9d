"""The words and value shapes ``syncd mapping new`` matches a sample export's fields on:
names in Swedish, English, German, French, Italian and Spanish, raw status and housing-form
words, and what each canonical field's values look like (a postcode, a price, an area ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Canonical field -> words a path's last step (or its parent's) may be named with.
NAMES: dict[str, tuple[str, ...]] = {
    "listing_key": (
        "objektnummer",
        "objektnr",
        "objektnr_extern",
        "objekt_id",
        "listing_id",
        "property_id",
        "propertyid",
        "agent_ref",
        "ref",
        "reference",
        "referencia",
        "riferimento",
        "external_id",
        "externalid",
        "unique_id",
        "id",
        "code",
        "codigo",
    ),
    "agency_key": (
        "maklarbyra",
        "maklarbyra_id",
        "openimmo_anid",
        "anbieternr",
        "agency_id",
        "agencyid",
        "branch_id",
        "office_id",
        "agency",
        "branch",
    ),
    "status": (
        "status",
        "state",
        "stand",
        "verkaufstatus",
        "estado",
        "statut",
        "stato",
        "availability",
        "disponibilidad",
        "objektstatus",
    ),
    "address.street": (
        "gatuadress",
        "adress",
        "street",
        "strasse",
        "strase",
        "street_name",
        "address",
        "address1",
        "address_1",
        "adresse",
        "direccion",
        "calle",
        "via",
        "indirizzo",
        "rue",
    ),
    "address.postal_code": (
        "postnummer",
        "postnr",
        "plz",
        "postcode",
        "postal_code",
        "postalcode",
        "zip",
        "zipcode",
        "zip_code",
        "cp",
        "codigo_postal",
        "code_postal",
        "cap",
    ),
    "address.apartment_number": (
        "lagenhetsnummer",
        "lgh_nr",
        "apartment_number",
        "wohnungsnr",
        "unit_number",
        "apt",
    ),
    "address.city": (
        "ort",
        "postort",
        "city",
        "town",
        "stadt",
        "ciudad",
        "ville",
        "citta",
        "localidad",
        "poblacion",
        "location_town",
    ),
    "address.municipality": (
        "kommun",
        "municipality",
        "gemeinde",
        "municipio",
        "commune",
        "comune",
        "regionaler_zusatz",
        "province",
        "provincia",
        "county",
        "region",
    ),
    "coordinates.latitude": ("lat", "latitude", "latitud", "breitengrad", "latitudine"),
    "coordinates.longitude": (
        "lon",
        "lng",
        "long",
        "longitude",
        "longitud",
        "laengengrad",
        "longitudine",
    ),
    "housing_form": (
        "boendeform",
        "objektart",
        "objekttyp",
        "property_type",
        "propertytype",
        "type",
        "tipo",
        "typ",
        "category",
        "tipologia",
        "type_de_bien",
        "prop_sub_id",
    ),
    "tenure": ("upplatelseform", "tenure", "tenure_type", "eigentumsform"),
    "asking_price": (
        "utgangspris",
        "pris",
        "price",
        "kaufpreis",
        "preis",
        "precio",
        "prix",
        "prezzo",
        "asking_price",
        "askingprice",
        "price_amount",
        "kaufpreis_brutto",
    ),
    "monthly_fee": ("avgift", "manadsavgift", "monthly_fee", "hausgeld", "community_fees"),
    "operating_cost": ("driftkostnad", "operating_cost", "nebenkosten", "betriebskosten"),
    "living_area": (
        "boarea",
        "living_area",
        "wohnflaeche",
        "living_space",
        "built",
        "area_built",
        "built_area",
        "superficie",
        "surface",
        "surface_habitable",
        "floor_area",
        "size",
        "m2",
        "sqm",
        "mq",
        "superficie_construida",
    ),
    "supplemental_area": ("biarea", "nutzflaeche", "usable_area", "supplemental_area"),
    "plot_area": (
        "tomtarea",
        "plot",
        "plot_area",
        "plot_size",
        "grundstuecksflaeche",
        "land_area",
        "parcela",
        "terrain",
        "lot_size",
        "superficie_terreno",
    ),
    "rooms": (
        "antal_rum",
        "rum",
        "rooms",
        "zimmer",
        "anzahl_zimmer",
        "room_count",
        "num_rooms",
        "pieces",
        "locali",
        "habitaciones",
        "beds",
        "bedrooms",
        "dormitorios",
        "chambres",
    ),
    "floor": ("vaning", "floor", "etage", "planta", "piano", "floor_number"),
    "construction_year": (
        "byggar",
        "byggnadsar",
        "construction_year",
        "baujahr",
        "year_built",
        "built_year",
        "yearbuilt",
        "ano_construccion",
        "annee_construction",
        "anno_costruzione",
    ),
    "energy_class": (
        "energiklass",
        "energy_class",
        "energy_rating",
        "wertklasse",
        "energieeffizienzklasse",
        "certificado_energetico",
        "classe_energetique",
        "classe_energetica",
        "epc",
    ),
    "new_construction": (
        "nyproduktion",
        "new_build",
        "newbuild",
        "new_construction",
        "neubau",
        "obra_nueva",
        "new_development",
    ),
    "title": (
        "rubrik",
        "title",
        "titel",
        "objekttitel",
        "titulo",
        "titre",
        "titolo",
        "headline",
        "heading",
    ),
    "description": (
        "beskrivning",
        "description",
        "desc",
        "objektbeschreibung",
        "beschreibung",
        "descripcion",
        "descrizione",
        "details",
        "remarks",
        "text",
    ),
    "broker.name": ("maklare_namn", "maklare", "agent_name", "broker_name", "contact_name"),
    "broker.email": (
        "maklare_epost",
        "epost",
        "email",
        "e_mail",
        "email_direkt",
        "email_zentrale",
        "agent_email",
        "contact_email",
        "correo",
    ),
    "broker.phone": (
        "maklare_telefon",
        "telefon",
        "phone",
        "telephone",
        "tel",
        "tel_durchw",
        "tel_zentrale",
        "mobile",
        "mobil",
        "telefono",
        "telephone_number",
    ),
    "seller.name": ("saljare_namn", "saljare", "seller_name", "seller", "verkaeufer"),
    "seller.email": ("saljare_epost", "seller_email"),
    "seller.identity_number": ("saljare_personnummer", "personnummer", "seller_identity_number"),
    "billing.recipient_name": ("faktura_mottagare", "billing_name", "invoice_recipient"),
    "billing.street": ("faktura_adress", "faktura_gatuadress", "billing_street", "billing_address"),
    "billing.postal_code": ("faktura_postnummer", "billing_postal_code", "billing_zip"),
    "billing.city": ("faktura_ort", "billing_city"),
    "sale.price": ("slutpris", "sale_price", "sold_price", "final_price", "verkaufspreis"),
    "sale.sold_on": ("kontraktsdatum", "sold_date", "contract_date", "sale_date"),
    "image_right.photo_agency_name": ("fotobyra_namn", "photo_agency_name"),
    "image_right.photographer": ("fotograf", "photographer"),
}
IMAGE_NAMES = (
    "bild", "bilder", "image", "images", "img", "photo", "photos", "picture", "pictures",
    "foto", "fotos", "imagen", "imagenes", "immagine", "immagini", "anhang", "anhaenge",
)  # fmt: skip
URL_NAMES = ("url", "pfad", "src", "href", "path", "link", "uri", "file")
CAPTION_NAMES = ("bildtext", "caption", "anhangtitel", "title", "titel", "desc", "description")

# Raw status / housing-form words -> canonical value; what is not listed is for sale / other.
STATUS_WORDS = {
    "sold": ("sold", "såld", "sald", "verkauft", "vendido", "vendu", "venduto", "verkaufstatus"),
    "withdrawn": (
        "withdrawn", "återkallad", "aterkallad", "delete", "deleted", "removed", "inactive",
        "off_market", "archived", "entfernt", "borttagen",
    ),
    "upcoming": ("upcoming", "kommande", "coming_soon", "snart till salu"),
}  # fmt: skip
HOUSING_WORDS = {
    "apartment": (
        "apartment", "flat", "lägenhet", "lagenhet", "wohnung", "apartamento", "piso",
        "appartement", "appartamento", "condo", "penthouse", "duplex", "studio",
    ),
    "house": (
        "house", "villa", "haus", "casa", "maison", "detached", "chalet", "einfamilienhaus",
        "bungalow", "cottage", "country house", "finca",
    ),
    "terraced_house": ("townhouse", "town house", "radhus", "reihenhaus", "adosado"),
    "plot": ("plot", "land", "tomt", "grundstueck", "grundstück", "terreno", "terrain"),
    "farm": ("farm", "gård", "gard", "rustica", "bauernhof"),
    "holiday_home": ("fritidshus", "holiday", "ferienhaus"),
}  # fmt: skip

TENURE_WORDS = {
    "condominium": ("bostadsrätt", "bostadsratt", "condominium", "condo"),
    "freehold": ("äganderätt", "aganderatt", "freehold", "eigentum"),
    "ownership_apartment": ("ägarlägenhet", "agarlagenhet"),
    "leasehold": ("tomträtt", "tomtratt", "leasehold", "erbbaurecht"),
    "cooperative": ("andelsrätt", "andelsratt", "cooperative"),
    "rental": ("hyresrätt", "hyresratt", "rental", "miete"),
}

_NUMBER = re.compile(r"^-?\d[\d \u00a0.,']*$")
_POSTCODE = re.compile(r"^(\d{3} ?\d{2}|\d{4,5}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$", re.I)
IMAGE_FILE = re.compile(r"\.(jpe?g|png|gif|webp|tiff?)(\?.*)?$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[./]\d{1,2}[./]\d{4}")
NON_WORD = re.compile(r"[^a-z0-9åäöü]+")


_CURRENCY = re.compile(r"\s*(kr|sek|eur|€|\$|£|:-)\s*$", re.I)


def _number(value: str) -> float | None:
    value = _CURRENCY.sub("", value)  # "3 495 000 kr"
    if not _NUMBER.match(value.strip()):
        return None
    text = value.replace(" ", "").replace("\u00a0", "").replace("'", "")
    if "," in text and "." in text:
        text = (
            text.replace(",", "")
            if text.rfind(".") > text.rfind(",")
            else text.replace(".", "").replace(",", ".")
        )
    elif "," in text:
        text = text.replace(",", ".") if len(text.rsplit(",", 1)[1]) != 3 else text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def all_of(test: Callable[[str], bool]) -> Callable[[list[str]], bool]:
    return lambda values: bool(values) and sum(map(test, values)) >= 0.9 * len(values)


def _between(low: float, high: float) -> Callable[[str], bool]:
    def test(value: str) -> bool:
        number = _number(value)
        return number is not None and low <= number <= high

    return test


TEXT = all_of(lambda v: any(c.isalpha() for c in v))
SHAPES: dict[str, Callable[[list[str]], bool]] = {
    "address.street": TEXT,
    "address.postal_code": all_of(lambda v: bool(_POSTCODE.match(v.strip()))),
    "address.city": TEXT,
    "address.municipality": TEXT,
    "address.apartment_number": all_of(lambda v: len(v.strip()) <= 10),
    "coordinates.latitude": all_of(_between(-90, 90)),
    "coordinates.longitude": all_of(_between(-180, 180)),
    "asking_price": all_of(_between(1000, 1e10)),
    "monthly_fee": all_of(_between(0, 1e6)),
    "operating_cost": all_of(_between(0, 1e7)),
    "living_area": all_of(_between(0, 100_000)),
    "supplemental_area": all_of(_between(0, 100_000)),
    "plot_area": all_of(_between(0, 1e8)),
    "rooms": all_of(_between(0, 100)),
    "floor": all_of(_between(-5, 200)),
    "construction_year": all_of(_between(1000, 2100)),
    "energy_class": all_of(lambda v: len(v.strip()) <= 4),
    "title": TEXT,
    "description": TEXT,
    "broker.name": TEXT,
    "broker.email": all_of(lambda v: "@" in v),
    "seller.email": all_of(lambda v: "@" in v),
    "billing.postal_code": all_of(lambda v: bool(_POSTCODE.match(v.strip()))),
    "broker.phone": all_of(lambda v: sum(c.isdigit() for c in v) >= 6),
    "sale.price": all_of(_between(1000, 1e10)),
    "sale.sold_on": all_of(lambda v: bool(_DATE.match(v.strip()))),
}
