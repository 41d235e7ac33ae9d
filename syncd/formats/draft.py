"""``syncd mapping new``: a first mapping file, proposed from a sample export's survey.

Each canonical field is matched to the field path whose name says it (Swedish, English,
German, French, Italian and Spanish words) and whose values have its shape (a postcode, a
price, an area, an e-mail ...). The draft is a commented TOML file that loads as it is;
every guess and every field left open is marked, so an operator knows what to check.
Pure: takes a ``Survey``, returns text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from syncd.formats.survey import FieldPath, Survey, numbered_columns

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
_IMAGE = re.compile(r"\.(jpe?g|png|gif|webp|tiff?)(\?.*)?$", re.I)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}|^\d{1,2}[./]\d{1,2}[./]\d{4}")
_WORD = re.compile(r"[^a-z0-9åäöü]+")


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


def _all(test: Callable[[str], bool]) -> Callable[[list[str]], bool]:
    return lambda values: bool(values) and sum(map(test, values)) >= 0.9 * len(values)


def _between(low: float, high: float) -> Callable[[str], bool]:
    def test(value: str) -> bool:
        number = _number(value)
        return number is not None and low <= number <= high

    return test


_TEXT = _all(lambda v: any(c.isalpha() for c in v))
SHAPES: dict[str, Callable[[list[str]], bool]] = {
    "address.street": _TEXT,
    "address.postal_code": _all(lambda v: bool(_POSTCODE.match(v.strip()))),
    "address.city": _TEXT,
    "address.municipality": _TEXT,
    "address.apartment_number": _all(lambda v: len(v.strip()) <= 10),
    "coordinates.latitude": _all(_between(-90, 90)),
    "coordinates.longitude": _all(_between(-180, 180)),
    "asking_price": _all(_between(1000, 1e10)),
    "monthly_fee": _all(_between(0, 1e6)),
    "operating_cost": _all(_between(0, 1e7)),
    "living_area": _all(_between(0, 100_000)),
    "supplemental_area": _all(_between(0, 100_000)),
    "plot_area": _all(_between(0, 1e8)),
    "rooms": _all(_between(0, 100)),
    "floor": _all(_between(-5, 200)),
    "construction_year": _all(_between(1000, 2100)),
    "energy_class": _all(lambda v: len(v.strip()) <= 4),
    "title": _TEXT,
    "description": _TEXT,
    "broker.name": _TEXT,
    "broker.email": _all(lambda v: "@" in v),
    "seller.email": _all(lambda v: "@" in v),
    "billing.postal_code": _all(lambda v: bool(_POSTCODE.match(v.strip()))),
    "broker.phone": _all(lambda v: sum(c.isdigit() for c in v) >= 6),
    "sale.price": _all(_between(1000, 1e10)),
    "sale.sold_on": _all(lambda v: bool(_DATE.match(v.strip()))),
}


@dataclass(frozen=True)
class Choice:
    """A canonical field and the path it was matched to, with the words for the comment."""

    field: str
    path: str
    why: str
    extra: dict[str, object] = dataclasses.field(default_factory=dict)  # beside expr


@dataclass
class Draft:
    """The proposal: what each canonical field reads, the images, and what is left."""

    survey: Survey
    choices: list[Choice]
    images: dict[str, object] | None
    left: list[str]
    unused: list[FieldPath]


def _steps(path: str) -> list[str]:
    return [
        _WORD.sub("_", s.split(":")[-1].lstrip("@").lower()).strip("_") for s in path.split("/")
    ]


LANGUAGES = ("sv", "en")  # a text in several languages: Swedish first, then English


def _name_score(canonical: str, path: str) -> float:
    """3 for the exact word (earlier words in ``NAMES`` a little more), 2 for a word in a
    longer name, 0 for none."""
    words = NAMES.get(canonical, ())
    steps = _steps(path)
    last = steps[-1]
    if len(steps) > 1 and steps[-2] in words:
        if last in ("value", "text", "amount"):
            last = steps[-2]
        elif canonical == "energy_class" and last in ("consumption", "class", "rating"):
            return 2.5
        elif last in LANGUAGES:  # desc/en, title/sv
            return 3 - LANGUAGES.index(last) / 10 - words.index(steps[-2]) / 1000
    if last in words:
        return 3 - words.index(last) / 1000
    tokens = set(last.split("_"))
    if any(w in tokens for w in words if len(w) > 2):
        return 2
    return 0


def propose(survey: Survey) -> Draft:
    """Match canonical fields to the survey's paths; one path serves one field."""
    single = [f for f in survey.fields if f.most_per_record <= 1 or survey.format == "csv"]
    taken: set[str] = set()
    choices: list[Choice] = []
    left: list[str] = []
    for canonical in NAMES:
        best: tuple[float, FieldPath] | None = None
        for item in single:
            if item.path in taken or not item.filled:
                continue
            score = _name_score(canonical, item.path)
            if not score:
                continue
            shape = SHAPES.get(canonical)
            if shape is not None and not shape(item.values):
                continue
            rank = score + survey.fill(item)
            if best is None or rank > best[0]:
                best = (rank, item)
        if best is None:
            left.append(canonical)
            continue
        item = best[1]
        taken.add(item.path)
        choices.append(
            Choice(
                canonical,
                item.path,
                f"fill {survey.fill(item):.0%}, e.g. {', '.join(map(repr, item.examples))}",
                _extra(canonical, item),
            )
        )
    _house_number(survey, choices, taken)
    _from_header(survey, choices, left)
    _key_fallback(survey, choices, left, taken)
    images = _images(survey, taken)
    unused = [f for f in survey.fields if f.path not in taken and f.filled]
    return Draft(survey, choices, images, left, unused)


HOUSE_NUMBER_NAMES = ("hausnummer", "husnummer", "house_number", "street_number", "numero", "nr")


def _house_number(survey: Survey, choices: list[Choice], taken: set[str]) -> None:
    """A street given without its number: the number field beside it joins it."""
    for index, choice in enumerate(choices):
        if choice.field != "address.street":
            continue
        parent = choice.path.rpartition("/")[0]
        for item in survey.fields:
            if (
                item.path not in taken
                and item.path.rpartition("/")[0] == parent
                and _steps(item.path)[-1] in HOUSE_NUMBER_NAMES
            ):
                taken.add(item.path)
                template: dict[str, object] = {"template": f"{{{choice.path}}} {{{item.path}}}"}
                why = f"{choice.why}; with the number from {item.path!r}"
                choices[index] = Choice(choice.field, choice.path, why, template)
        return


HOLDERS = ("agent", "agency", "anbieter", "office", "branch", "company", "makler", "broker")
HEADER_FIELDS = ("agency_key", "broker.name", "broker.email", "broker.phone")


def _from_header(survey: Survey, choices: list[Choice], left: list[str]) -> None:
    """The agency (and its contact, when the records have none) from the file's header:
    an id under an agent/anbieter/office element, or a field named like an agency key."""
    for canonical in [c for c in HEADER_FIELDS if c in left]:
        ranked: list[tuple[float, FieldPath]] = []
        for item in survey.outside:
            steps = _steps(item.path.split("::", 1)[1])
            score = _name_score(canonical, item.path)
            if canonical == "agency_key" and not score:
                held = any(h in step for step in steps[:-1] for h in HOLDERS)
                score = 1.0 if held and steps[-1] in ("id", "anid", "nr", "code", "ref") else 0
            shape = SHAPES.get(canonical)
            if score and (shape is None or shape(item.values)):
                ranked.append((score, item))
        if ranked:
            item = max(ranked, key=lambda pair: pair[0])[1]
            left.remove(canonical)
            why = f"from the file's header, e.g. {', '.join(map(repr, item.examples))}"
            choices.append(Choice(canonical, item.path, why))


def _extra(canonical: str, item: FieldPath) -> dict[str, object]:
    """A map for the enumerations, from the sample's own values."""
    if canonical == "status":
        return _word_map(item.values, STATUS_WORDS, "for_sale")
    if canonical == "housing_form":
        return _word_map(item.values, HOUSING_WORDS, "other")
    if canonical == "tenure":  # no catch-all: a value the map lacks is an error to see
        return {"map": _word_map(item.values, TENURE_WORDS, "")["map"]}
    if canonical == "description" and any("<" in v for v in item.values):
        return {"html": True}
    return {}


def _word_map(
    values: Sequence[str], words: dict[str, tuple[str, ...]], otherwise: str
) -> dict[str, object]:
    seen = sorted({v.strip().lower() for v in values if v.strip()})
    table: dict[str, str] = {}
    for value in seen:
        for canonical, known in words.items():
            if any(w in value for w in known):
                table[value] = canonical
                break
    return {"map": table, "map_default": otherwise}


def _key_fallback(survey: Survey, choices: list[Choice], left: list[str], taken: set[str]) -> None:
    """No path named like a key: the first always-filled path whose values are all distinct."""
    if "listing_key" not in left:
        return
    for item in survey.fields:
        if (
            item.path not in taken
            and item.filled == survey.record_count
            and survey.record_count > 1
            and len(set(item.values)) == len(item.values)
        ):
            left.remove("listing_key")
            taken.add(item.path)
            choices.insert(0, Choice("listing_key", item.path, "GUESS: every value distinct"))
            return


def _images(survey: Survey, taken: set[str]) -> dict[str, object] | None:
    if survey.format == "csv":
        return _csv_images(survey, taken)
    urls = [
        f
        for f in survey.fields
        if f.path not in taken
        and _all(lambda v: bool(_IMAGE.search(v)))(f.values)
        and (f.most_per_record > 1 or any(s in IMAGE_NAMES for s in _steps(f.path)))
    ]
    if not urls:
        return None
    url = max(urls, key=lambda f: (f.filled, f.most_per_record))
    taken.add(url.path)
    steps = url.path.split("/")
    # The repeated element: the first step of the URL's path that occurs many times a record.
    each_depth = min(
        (d for d in range(1, len(steps) + 1) if survey.repeating.get("/".join(steps[:d]))),
        default=len(steps),
    )
    each = "/".join(steps[:each_depth])
    group: dict[str, object] = {"each": each, "url": "/".join(steps[each_depth:]) or "."}
    for item in survey.fields:
        if item.path.startswith(each + "/") and item.path not in taken:
            rest = item.path[len(each) + 1 :]
            if _steps(rest)[-1] in CAPTION_NAMES and _TEXT(item.values):
                group["caption"] = rest
                taken.add(item.path)
                break
    return group


def _csv_images(survey: Survey, taken: set[str]) -> dict[str, object] | None:
    names = [f.path for f in survey.fields]
    by_name = {f.path: f for f in survey.fields}
    for stem, numbers in numbered_columns(names).items():
        if not any(w in _steps(stem)[-1].split("_") or w == _steps(stem)[-1] for w in IMAGE_NAMES):
            continue
        columns = [n for n in names if n.startswith(stem) and n[len(stem) :].isdigit()]
        values = [v for n in columns for v in by_name[n].values]
        if not _all(lambda v: bool(_IMAGE.search(v)) or v.startswith("http"))(values):
            continue
        width = len(columns[0]) - len(stem)
        index = "{n:0%d}" % width if columns[0][len(stem)] == "0" else "{n}"  # noqa: UP031
        taken.update(columns)
        return {"repeat": max(numbers) - min(numbers) + 1, "start": min(numbers),
                "url": stem + index}  # fmt: skip
    return None


# --- the TOML text ----------------------------------------------------------------------------


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        items = (f"{_key(str(k))} = {_toml(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml(name)


def render(draft: Draft, name: str) -> str:
    """The draft as a commented mapping file that loads as it is."""
    survey = draft.survey
    out = [
        f"# Draft mapping {name!r}, written by 'syncd mapping new' from {survey.path.name}",
        f"# ({survey.record_count} record(s)). Every line is a guess from field names and",
        "# values: check each against the export's documentation, then run",
        f"#   syncd check {survey.path.name} --mapping <this file>",
        "# Reference: docs/mappings.md.",
        "",
        "[mapping]",
        f"name = {_toml(name)}",
        f"format = {_toml(survey.format)}",
    ]
    if survey.record:
        out.append(f"record = {_toml(survey.record)}")
    if survey.namespaces:
        out.append(f"namespaces = {_toml(survey.namespaces)}")
    out += [
        '# GUESS: incremental (absence removes nothing). Set "full" only if every file lists',
        "# every current listing: listings missing from a full export are unpublished.",
        'mode = "incremental"',
        "",
        "[fields]",
    ]
    chosen = {c.field: c for c in draft.choices}
    for canonical in NAMES:
        choice = chosen.get(canonical)
        if choice is None:
            continue
        spec: dict[str, object] = (
            dict(choice.extra)
            if "template" in choice.extra
            else {"expr": choice.path, **choice.extra}
        )
        if canonical == "listing_key":
            spec["required"] = True
        out.append(f"# GUESSED from the name {choice.path!r}: {choice.why}")
        out.append(f"{_key(canonical)} = {_toml(spec)}")
    for canonical, constant, why in (
        ("listing_key", None, "no field looks like the listing's own reference"),
        ("agency_key", "default", "one agency for the whole file"),
        ("status", "for_sale", "every record is for sale"),
        ("address.street", None, "no street found"),
    ):
        if canonical in chosen:
            continue
        out.append(f"# LEFT: {why}; say where it comes from")
        if constant is None:
            out.append(f'{_key(canonical)} = {{ value = "" }}  # TODO')
        else:
            out.append(f"{_key(canonical)} = {{ value = {_toml(constant)} }}")
    if draft.images:
        out += ["", "# GUESSED: the image URLs", "[[images]]"]
        out += [f"{k} = {_toml(v)}" for k, v in draft.images.items()]
    optional = [c for c in draft.left if c not in ("listing_key", "address.street")]
    if optional:
        out += ["", "# Not found in the sample (add them if the export has them):"]
        out += [f"#   {c}" for c in optional]
    if draft.unused:
        out += ["", "# Fields of the sample no line above reads (fill rate, examples):"]
        out += [
            f"#   {f.path}  {survey.fill(f):.0%}  {', '.join(map(repr, f.examples))}"
            for f in draft.unused
        ]
    return "\n".join(out) + "\n"
