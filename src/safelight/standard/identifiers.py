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
#: A bare channel name (``telegram``, ``facebook``) is a recruitment-channel flag, not a handle.
_MORE_HEADERS: dict[str, tuple[str, ...]] = {
    "full_name": ("alias", "aliases", "aka", "nickname", "maiden name", "birth name",
                  "father name", "father's name", "mother name", "mother's name",
                  "псевдонім", "прізвисько", "псевдоним", "кличка", "spitzname"),
    "document_number": ("ssn", "social security number", "tax id", "tax number", "tin", "nin",
                        "national insurance number", "rnokpp", "рнокпп", "іпн", "инн",
                        "steuer id"),
    "phone": ("imei", "whatsapp number", "telegram number", "viber number"),
    "email": ("username", "user name", "login", "ip address", "telegram handle",
              "telegram username", "instagram handle", "facebook profile", "skype id",
              "social media account", "social media handle"),
    "locality": ("place of birth", "birthplace", "birth place", "місце народження",
                 "место рождения", "geburtsort", "miejsce urodzenia", "lieu de naissance",
                 "lugar de nacimiento", "locul nașterii", "locul nasterii"),
}
_BY_KEY |= {header_key(h): field for field, headers in _MORE_HEADERS.items() for h in headers}

#: words of a header that name an address wherever they stand (home_address, Adresse_privat),
#: unless a word of :data:`_PLACE_ATTRIBUTES` says it is a coarse place (address_region)
_ADDRESS_WORDS = frozenset({"address", "adresse", "adres", "адрес", "адреса", "addr"})
_PLACE_ATTRIBUTES = frozenset({"country", "region", "oblast", "state", "province", "district",
                               "county", "type", "kind"})
#: "name" after one of these words is a person's name (father_name, victimSurname)
_NAME_WORDS = frozenset({"name", "names", "surname", "surnames", "lastname", "firstname"})
_PERSON_WORDS = frozenset({
    "victim", "survivor", "client", "person", "persons", "people", "father", "mother",
    "parent", "parents", "guardian", "spouse", "husband", "wife", "partner", "child",
    "children", "sibling", "brother", "sister", "relative", "contact", "maiden", "birth",
    "full", "first", "last", "middle", "given", "family", "nick", "trafficker", "traffickers",
    "suspect", "suspects", "perpetrator", "offender", "exploiter", "recruiter", "witness",
    "caseworker", "interviewer", "beneficiary", "applicant", "patient", "worker"})


def identifier_of_header(header: str) -> str | None:
    """The direct identifier (an identity field's name) that ``header`` names, or ``None``:
    the headers above, a header with an address word (``home_address``; not
    ``address_region``), and a person's name (``father_name``, ``victimSurname``: a name word
    alone or after a word for a person — not ``destination_country_name``)."""
    key = header_key(header)
    if key in _BY_KEY:
        return _BY_KEY[key]
    words = header_tokens(header)
    if _ADDRESS_WORDS & set(words) and not _PLACE_ATTRIBUTES & set(words):
        return "street"
    for i, w in enumerate(words):
        if w in _NAME_WORDS and (i == 0 or words[i - 1] in _PERSON_WORDS):
            return "full_name"
    return None


__all__ = ["DIRECT_IDENTIFIERS", "header_key", "header_tokens", "identifier_of_header"]
