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
import unicodedata

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

def fold_accents(text: str) -> str:
    """``text`` case-folded without diacritics (ţ and ț, é and e, ü and u are one letter)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                   if not unicodedata.combining(c))


#: parts of a header (its key without diacritics) that name an identifier wherever they stand
#: — failing closed: address1, Wohnadresse, victim_phone, Personalausweisnummer, data_nasterii
_PARTS: tuple[tuple[str, str], ...] = (
    ("address", "street"), ("adres", "street"), ("адрес", "street"), ("anschrift", "street"),
    ("street", "street"), ("strasse", "street"), ("strase", "street"), ("вулиц", "street"),
    ("улиц", "street"), ("ulica", "street"), ("domicil", "street"), ("прожив", "street"),
    ("житель", "street"), ("zamieszk", "street"), ("residen", "locality"), ("gps", "street"),
    ("latitud", "street"), ("longitud", "street"),
    ("phone", "phone"), ("telefon", "phone"), ("телефон", "phone"), ("mobil", "phone"),
    ("email", "email"), ("correo", "email"), ("почт", "email"), ("пошт", "email"),
    ("passport", "document_number"), ("паспорт", "document_number"),
    ("pasaport", "document_number"), ("paszport", "document_number"),
    ("passeport", "document_number"), ("pasaporte", "document_number"),
    ("passnummer", "document_number"), ("reisepass", "document_number"),
    ("ausweis", "document_number"), ("dowod", "document_number"), ("cedula", "document_number"),
    ("buletin", "document_number"), ("nationalid", "document_number"),
    ("idcard", "document_number"), ("identidad", "document_number"), ("iban", "document_number"),
    ("bankaccount", "document_number"), ("licenseplate", "document_number"),
    ("birthdate", "birth_date"), ("dateofbirth", "birth_date"), ("датанар", "birth_date"),
    ("датарожд", "birth_date"), ("geburt", "birth_date"), ("gebdatum", "birth_date"),
    ("urodzen", "birth_date"), ("народж", "birth_date"), ("рожден", "birth_date"),
    ("nasterii", "birth_date"), ("naissance", "birth_date"), ("nacimiento", "birth_date"),
    ("fechanac", "birth_date"),
    ("прізвищ", "family_name"), ("фамили", "family_name"), ("nazwisk", "family_name"),
    ("nachname", "family_name"), ("familienname", "family_name"), ("apellid", "family_name"),
    ("vorname", "given_name"), ("імя", "given_name"), ("имя", "given_name"),
    ("імені", "given_name"), ("prenom", "given_name"), ("prenume", "given_name"),
    ("отчеств", "given_name"), ("побатьков", "given_name"), ("alias", "full_name"))
#: words that are an identifier by themselves or as a word's start (not inside other words:
#: "imie" is in Spanish seguimiento, "nick" in nickel, "nom" in nombre de victimes)
_WORDS: dict[str, str] = {
    "dob": "birth_date", "yob": "birth_date", "fio": "full_name", "фио": "full_name",
    "піб": "full_name", "піп": "full_name", "nom": "full_name", "nume": "full_name",
    "numele": "full_name", "nombre": "given_name", "nombres": "given_name",
    "imie": "given_name", "imię": "given_name", "imiona": "given_name", "nick": "full_name",
    "nickname": "full_name", "handy": "phone", "handynummer": "phone", "tel": "phone",
    "тел": "phone", "моб": "phone", "mail": "email", "calle": "street", "nm": "full_name"}
#: words that make a header a status or a flag of an identifier, not the identifier itself
#: (passport_confiscated, has_phone, street_children, mobile_money, name_known), a coarse
#: place (address_region, country_of_birth, pays de naissance) or a count
_NOT_THE_VALUE = frozenset({
    "confiscated", "withheld", "taken", "seized", "retained", "kept", "lost", "has", "had",
    "have", "used", "use", "known", "unknown", "status", "type", "kind", "children", "child",
    "money", "access", "country", "countries", "region", "oblast", "state", "province",
    "district", "county", "pais", "país", "pays", "land", "країна", "страна", "kraj", "tara",
    "ţara", "țara", "count", "total", "flag", "addressed", "issues", "smart", "micro", "auto",
    "immobile", "automobile", "smartphone", "microphone", "adressat", "lives", "living",
    "homeless", "вилучено", "вилучений", "забрано", "изъят", "изъято", "отобран",
    "straßenkinder", "strassenkinder", "geburtsland"})
#: header keys of coarse places and flags that hold an identifier word (they pass)
_COARSE_PLACES = frozenset(header_key(h) for h in (
    "address_region", "address_country", "address_type", "address_kind", "address_oblast",
    "address_state", "address_province", "address_district", "country_of_address",
    "region_of_address", "needs_addressed"))
#: a word before "name" that makes it a case attribute's name (destination_country_name)
_ATTRIBUTE_WORDS = frozenset({
    "country", "countries", "region", "oblast", "province", "state", "district", "sector",
    "industry", "agency", "organisation", "organization", "org", "program", "programme",
    "project", "dataset", "column", "type", "category", "service", "product", "brand",
    "platform", "site", "website", "company", "business", "route", "indicator", "variable",
    "field", "status", "gender", "citizenship", "nationality", "exploitation", "recruitment",
    "form", "crime", "offence", "offense", "court", "unit", "team", "group", "class", "level",
    "stage", "outcome", "result"})


def _a_count(words: list[str]) -> bool:
    """A count of something (number_of_victims, nombre_de_victimes): no one's value."""
    return any(w in ("number", "nombre", "numero", "número", "liczba", "кількість",
                     "количество", "anzahl") and words[i + 1:i + 2] in (["of"], ["de"])
               and words[i + 2:i + 3] not in (["la"], ["el"], ["los"], ["las"])
               for i, w in enumerate(words)) or any(
        w in ("кількість", "количество", "liczba", "anzahl", "count", "total") for w in words)


def _name_word(word: str) -> bool:
    """A header word that names a person: name(s), or a word ending so (surname, nickname,
    fathername, victimname: a header written without separators; not Suriname)."""
    return (word in ("name", "names") or word.endswith(("name", "names"))) and (
        word != "suriname")


def identifier_of_header(header: str) -> str | None:
    """The direct identifier (an identity field's name) that ``header`` names, or ``None``.

    Fails closed: the headers above, and a header with an address, street, residence, phone,
    e-mail, document, account or birth-date part or a name word in the languages
    contributors write (``address1``, ``Wohnadresse``, ``victim_phone``, ``son_name``,
    ``прізвище_жертви``, ``Personalausweisnummer``, ``data_nasterii``) — except a status or
    flag of one, a coarse place or a count (``passport_confiscated``, ``has_phone``,
    ``street_children``, ``address_region``, ``country_of_birth``) and a case attribute's
    name, "name" after an attribute word (``destination_country_name``). A list of words is
    never complete: a release also refuses a column whose values are nearly all distinct."""
    key = header_key(header)
    if key in _BY_KEY:
        return _BY_KEY[key]
    if key in _COARSE_PLACES:
        return None
    words = header_tokens(header)
    plain = [w for w in re.split(r"[\W_]+", header.casefold()) if w]  # DoB stays one word
    folded = {fold_accents(w) for w in (*words, *plain)}
    if folded & {fold_accents(w) for w in _NOT_THE_VALUE} or _a_count(words):
        return None
    for i, w in enumerate((*words, *plain)):
        hit = _WORDS.get(w) or _WORDS.get(fold_accents(w))
        if hit and not (w == "nombre" and words[i + 1:i + 2] == ["de"]
                        and words[i + 2:i + 3] not in (["la"], ["el"], ["los"], ["las"])):
            return hit  # "nombre de victimes" is a count; "nombre de la víctima" a name
    if any(w.endswith("dob") for w in plain):  # victimDoB, VictimDOB
        return "birth_date"
    for i, w in enumerate(words):
        if _name_word(w) and not (i and words[i - 1] in _ATTRIBUTE_WORDS):
            return "full_name"
    flat = fold_accents(key)
    for part, field in _PARTS:
        if fold_accents(part) in flat:
            return field
    return None


__all__ = ["DIRECT_IDENTIFIERS", "fold_accents", "header_key", "header_tokens", "identifier_of_header"]
