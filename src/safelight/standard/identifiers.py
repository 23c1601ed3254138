"""Which column headers name a direct identifier — a field that points at one person.

Contract: :func:`identifier_of_header` says which of the standard's identity fields
(:data:`~safelight.standard.schema.IDENTITY_FIELDS`) a contributor's column header names, or
``None``. It knows each field's own name, the parts identity maps read
(``birth_year``/``birth_month``/``birth_day``, ``street_number``/``address_line``) and common
headers in the languages contributors write (English, Ukrainian, Russian, German, Polish,
French, Spanish, Romanian). Headers match ignoring case, blanks and punctuation (``First
Name``, ``first_name`` and ``FIRSTNAME`` are one header). Sex, nationality, region, the
address's country and the document's type are identity fields that are also ordinary case
attributes (a release may publish them): they are not direct identifiers.

A list of names is never complete: a reader that must keep identifiers out (a release) also
looks at the values (a column whose values are nearly all distinct).
"""

from __future__ import annotations

import re

from safelight.standard.schema import IDENTITY_FIELDS

#: identity fields that are also case attributes, released like any other
_ATTRIBUTES = frozenset({"sex", "nationality", "region", "address_country", "document_type"})

#: direct identifiers: the standard's identity fields without :data:`_ATTRIBUTES`
DIRECT_IDENTIFIERS: frozenset[str] = frozenset(f.name for f in IDENTITY_FIELDS) - _ATTRIBUTES

#: headers (beyond the field's own name) that name each direct identifier
_HEADERS: dict[str, tuple[str, ...]] = {
    "given_name": (
        "name", "first name", "forename", "given name", "given names", "christian name",
        "patronymic", "middle name", "ім'я", "імя", "по батькові", "имя", "отчество",
        "vorname", "imię", "imie", "drugie imię", "prénom", "prenom", "nombre", "prenume"),
    "family_name": (
        "surname", "last name", "lastname", "family name", "прізвище", "фамилия", "nachname",
        "familienname", "nazwisko", "nom", "nom de famille", "apellido", "apellidos", "nume",
        "nume de familie"),
    "full_name": (
        "full name", "person name", "victim name", "client name", "піб", "фио", "повне ім'я",
        "полное имя", "vollständiger name", "imię i nazwisko", "nom complet",
        "nombre completo", "nume complet"),
    "birth_date": (
        "birth_year", "birth_month", "birth_day", "dob", "dob year", "dob month", "dob day",
        "date of birth", "birth date", "birthday", "year of birth", "month of birth",
        "day of birth", "дата народження", "рік народження", "дата рождения", "год рождения",
        "geburtsdatum", "geburtsjahr", "data urodzenia", "rok urodzenia", "date de naissance",
        "année de naissance", "fecha de nacimiento", "año de nacimiento", "data nașterii",
        "data nasterii", "anul nașterii"),
    "street": (
        "street_number", "address_line", "address", "street address", "address line 1",
        "address line 2", "house number", "адреса", "вулиця", "адрес", "улица", "adresse",
        "straße", "strasse", "hausnummer", "adres", "ulica", "numer domu", "rue", "calle",
        "dirección", "direccion", "domicilio", "adresă", "adresa", "strada", "stradă"),
    "locality": (
        "city", "town", "village", "place of residence", "residence", "місто", "село",
        "населений пункт", "город", "населенный пункт", "ort", "stadt", "wohnort", "miasto",
        "miejscowość", "ville", "commune", "ciudad", "localidad", "municipio", "oraș", "oras",
        "localitate"),
    "postcode": (
        "postal code", "post code", "zip", "zip code", "zipcode", "plz", "postleitzahl",
        "kod pocztowy", "code postal", "código postal", "codigo postal", "cod poștal",
        "cod postal", "поштовий індекс", "індекс", "почтовый индекс", "индекс"),
    "phone": (
        "tel", "telephone", "phone number", "mobile", "mobile phone", "cell", "cell phone",
        "телефон", "номер телефону", "номер телефона", "мобільний", "telefon",
        "telefonnummer", "handy", "numer telefonu", "téléphone", "portable", "teléfono",
        "telefono", "móvil", "movil", "celular"),
    "email": (
        "e-mail", "mail", "email address", "електронна пошта", "пошта", "электронная почта",
        "почта", "courriel", "correo", "correo electrónico"),
    "document_number": (
        "passport", "passport number", "passport no", "document", "id number", "id card",
        "national id", "паспорт", "номер паспорта", "номер паспорту", "документ",
        "reisepass", "ausweis", "ausweisnummer", "paszport", "dowód osobisty", "pesel",
        "passeport", "pasaporte", "dni", "pașaport", "pasaport", "cnp"),
}


def header_key(header: str) -> str:
    """A header without case, blanks and punctuation (letters of any script kept): ``First
    Name``, ``first_name`` and ``FIRSTNAME`` give one key."""
    return re.sub(r"[\W_]+", "", header.casefold())


def header_tokens(header: str) -> list[str]:
    """The words of a header, lower-cased: split at blanks, punctuation, ``_`` and camelCase
    (``victimAge`` → ``victim``, ``age``; ``destination_country_name`` → three words)."""
    spaced = re.sub(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])", " ", header)
    return [w for w in re.split(r"[\W_]+", spaced.casefold()) if w]


_BY_KEY: dict[str, str] = {
    header_key(h): field for field, headers in _HEADERS.items()
    for h in (field, *headers)}
_BY_KEY |= {header_key(f): f for f in DIRECT_IDENTIFIERS}


#: headers of identifiers the standard has no field of, read as the field nearest them: other
#: names of a person, numbers that point at one person, devices and accounts, birthplaces.
#: A bare channel name (``telegram``) is refused too: it may hold handles (a yes/no flag of
#: the recruitment channel passes under another name, ``via_telegram``).
_MORE_HEADERS: dict[str, tuple[str, ...]] = {
    "full_name": ("alias", "aliases", "aka", "maiden name", "birth name", "father's name",
                  "mother's name", "псевдонім", "прізвисько", "псевдоним", "кличка",
                  "spitzname"),
    "document_number": ("ssn", "social security number", "tax id", "tax number", "tin", "nin",
                        "national insurance number", "rnokpp", "рнокпп", "іпн", "инн",
                        "steuer id", "identification number", "personal number",
                        "document no", "document nr", "doc no", "passport no", "id no"),
    "phone": ("imei", "whatsapp", "telegram", "viber", "signal number", "whatsapp number",
              "telegram number", "viber number"),
    "email": ("skype", "facebook", "instagram", "tiktok", "vk", "vkontakte", "username",
              "user name", "login", "ip", "ip address", "social media", "telegram handle",
              "telegram username", "instagram handle", "facebook profile", "skype id",
              "social media account", "social media handle"),
    "locality": ("place of birth", "birthplace", "birth place", "місце народження",
                 "место рождения", "geburtsort", "miejsce urodzenia", "lieu de naissance",
                 "lugar de nacimiento", "locul nașterii", "locul nasterii"),
}
_BY_KEY |= {header_key(h): field for field, headers in _MORE_HEADERS.items() for h in headers}

#: parts of a header key that name an identifier wherever they stand (failing closed: a
#: column so named is refused unless :data:`_COARSE_PLACES` or an attribute word before
#: "name" says otherwise): address1, Wohnadresse, street_name, victim_phone, victim_dob.
#: Parts that are also ordinary words elsewhere stay exact headers only (calle: "called";
#: nombre: French "number"; handy: "handyman")
_PARTS: tuple[tuple[str, str], ...] = (
    ("address", "street"), ("adres", "street"), ("адрес", "street"), ("anschrift", "street"),
    ("street", "street"), ("strasse", "street"), ("straße", "street"), ("вулиц", "street"),
    ("улиц", "street"), ("ulica", "street"),
    ("phone", "phone"), ("mobile", "phone"), ("телефон", "phone"),
    ("email", "email"), ("passport", "document_number"), ("паспорт", "document_number"),
    ("birthdate", "birth_date"), ("dateofbirth", "birth_date"), ("датанародж", "birth_date"),
    ("датарожд", "birth_date"),
    ("прізвищ", "family_name"), ("фамили", "family_name"), ("nazwisk", "family_name"),
    ("nachname", "family_name"), ("familienname", "family_name"), ("apellid", "family_name"),
    ("vorname", "given_name"), ("імя", "given_name"), ("имя", "given_name"),
    ("imie", "given_name"), ("imię", "given_name"), ("prenom", "given_name"),
    ("prénom", "given_name"), ("prenume", "given_name"),
    ("отчеств", "given_name"), ("побатьков", "given_name"), ("піб", "full_name"),
    ("alias", "full_name"), ("nick", "full_name"))
#: whole words that are an identifier by themselves (dob, fio)
_WORDS = {"dob": "birth_date", "fio": "full_name", "фио": "full_name"}
#: header keys of coarse places that hold an address word (they pass)
_COARSE_PLACES = frozenset(header_key(h) for h in (
    "address_region", "address_country", "address_type", "address_kind", "address_oblast",
    "address_state", "address_province", "address_district", "country_of_address",
    "region_of_address", "needs_addressed"))
#: a word before "name" that makes it a case attribute's name (destination_country_name)
_ATTRIBUTE_WORDS = frozenset({
    "country", "countries", "region", "oblast", "province", "state", "district", "sector",
    "industry", "agency", "organisation", "organization", "org", "program", "programme",
    "project", "file", "dataset", "column", "type", "category", "service", "product", "brand",
    "platform", "site", "website", "company", "business", "route", "indicator", "variable",
    "field", "source", "status", "gender", "citizenship", "nationality", "case",
    "exploitation", "recruitment", "form", "crime", "offence", "offense", "court", "unit",
    "team", "shelter_type", "group", "class", "level", "stage", "outcome", "result"})


def _name_word(word: str) -> bool:
    """A header word that names a person: name(s), or a word ending so (surname, nickname,
    fathername, victimname: a header written without separators), or beginning so
    (name_of_victim splits into name, of, victim)."""
    return word in ("name", "names") or word.endswith(("name", "names"))


def identifier_of_header(header: str) -> str | None:
    """The direct identifier (an identity field's name) that ``header`` names, or ``None``.

    Fails closed: the headers above, a header containing an address, street, phone, e-mail,
    passport or birth-date part or a name word in the languages contributors write
    (``address1``, ``Wohnadresse``, ``victim_phone``, ``son_name``, ``прізвище_жертви``) —
    except a coarse place (``address_region``) and a case attribute's name, "name" after an
    attribute word (``destination_country_name``, ``type_of_exploitation_name``)."""
    key = header_key(header)
    if key in _BY_KEY:
        return _BY_KEY[key]
    if key in _COARSE_PLACES:
        return None
    words = header_tokens(header)
    for w in words:
        if w in _WORDS:
            return _WORDS[w]
    for i, w in enumerate(words):
        if _name_word(w) and not (i and words[i - 1] in _ATTRIBUTE_WORDS):
            return "full_name"
    for part, field in _PARTS:
        if part in key:
            return field
    return None


__all__ = ["DIRECT_IDENTIFIERS", "header_key", "header_tokens", "identifier_of_header"]
