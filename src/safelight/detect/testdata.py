"""A seeded generator of labelled, obfuscated contact strings, and the evaluation of an extractor.

Contract
--------
:func:`contact_cases` returns ``n`` :class:`ContactCase` objects — a text in one of five
languages (English, Ukrainian, Russian, Spanish, Romanian), the region its numbers are read in,
and the exact set of contact keys (``kind:value``, see :mod:`safelight.detect.contacts`) it holds.
The same seed gives the same cases on every machine (only :mod:`random` with a local seed and
``phonenumbers`` metadata are used). About one case in six holds no contact at all, only
contact-like distractors (prices, ages, dates, times, body measurements, "24/7", number words in
prose), so precision is measured, not assumed.

:func:`evaluate` runs an extractor over the cases and returns micro-averaged precision and recall
over contact keys, overall and per obfuscation style.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import phonenumbers

from safelight.detect.contacts import ContactPoint

__all__ = ["ContactCase", "PHONE_STYLES", "contact_cases", "evaluate", "obfuscate_phone",
           "random_mobile"]

LANG_REGIONS = {"en": ["US", "GB"], "uk": ["UA"], "ru": ["RU", "UA"], "es": ["ES", "MX"],
                "ro": ["RO", "MD"]}
DIGIT_WORDS = {
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
    "uk": ["нуль", "один", "два", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять"],
    "ru": ["ноль", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять"],
    "es": ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"],
    "ro": ["zero", "unu", "doi", "trei", "patru", "cinci", "șase", "șapte", "opt", "nouă"],
}
CALL = {
    "en": ["Call me {c}", "Text {c} for details", "Contact: {c}", "{c} - ask for Anna",
           "Book now {c} !!", "Info at {c}, real photos"],
    "uk": ["Дзвоніть {c}", "Пишіть {c}, відповім", "Контакт: {c}", "Телефон {c} — Оля",
           "Робота за кордоном, деталі {c}"],
    "ru": ["Звони {c}", "Пиши {c} в любое время", "Контакты: {c}", "Тел. {c} Маша",
           "Работа за границей, подробности {c}"],
    "es": ["Llámame al {c}", "Escríbeme {c}", "Contacto: {c}", "Más info {c} pregunta por Sofía",
           "Trabajo en el extranjero, info {c}"],
    "ro": ["Sună-mă la {c}", "Scrie-mi {c}", "Contact: {c}", "Informații la {c}, întreabă de Ana",
           "Lucru în străinătate, detalii {c}"],
}
CHANNELS = {"whatsapp": ["WhatsApp", "whatsapp:", "WA", "ватсап"], "viber": ["Viber", "вайбер"],
            "signal": ["Signal"], "telegram": ["Telegram", "TG"]}
DISTRACTORS = {
    "en": ["Price 200$ per hour, 24/7.", "Age 23, height 170 cm, 90-60-90.",
           "Open from 10:00 to 22:00, 7 days.", "Posted 12.05.2024 in room 305.",
           "One girl, two friends, three hours.", "Salary 1500-2000 EUR per month, 40 hours.",
           "Ref ID 4471, 2 photos.", "Since 2019 - 2024, 5 stars."],
    "uk": ["Ціна 500 грн за годину, 24/7.", "Вік 21, зріст 168, вага 52.",
           "Зарплата 1200-1500 євро, житло 150.", "Одна дівчина, два дні, три години.",
           "Опубліковано 03.04.2024."],
    "ru": ["Цена 3000 руб/час, 24/7.", "Возраст 22, рост 170, грудь 3.",
           "Зарплата 800-1200 евро, жильё бесплатно.", "Одна девушка, две подруги.",
           "Размещено 15.06.2023 в 18:30."],
    "es": ["Precio 100€ la hora, 24/7.", "Edad 24, altura 165, 90-60-90.",
           "Salario 1500-1800 euros, 40 horas.", "Una chica, dos amigas, tres horas.",
           "Publicado el 01.02.2024."],
    "ro": ["Preț 300 lei ora, 24/7.", "Vârsta 20, înălțime 172, 55 kg.",
           "Salariu 1000-1400 euro, cazare 100.", "O fată, două prietene, trei ore.",
           "Publicat 20.11.2023."],
}
EMAIL_DOMAINS = ["gmail.com", "mail.ru", "ukr.net", "yahoo.es", "yandex.ru", "outlook.com",
                 "i.ua", "hotmail.com", "protonmail.com", "gmail.ro"]
EMAIL_STYLES = {
    "plain": ("{u}@{d}", "."), "at_dot": ("{u} at {d}", " dot "),
    "brackets": ("{u}[at]{d}", "[dot]"), "parens": ("{u} (at) {d}", " (dot) "),
    "spaced_at": ("{u} @ {d}", "."), "arroba": ("{u} arroba {d}", " punto "),
    "sobaka": ("{u} собака {d}", " точка "),
}
TLD_SITES = ["com", "net", "ru", "ua", "es", "ro", "info"]
SYLLABLES = ["an", "na", "ma", "ri", "ka", "lo", "ve", "ta", "sa", "mi", "le", "ni", "ol", "ya",
             "da", "ro", "vi", "ko", "el", "za"]

PHONE_STYLES = ["international", "national", "digits", "spaced", "dotted", "dashed", "bracketed",
                "words", "mixed_words", "keycap", "fullwidth", "letter_swap", "double_zero"]
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
SWAP = {"0": ["O", "o"], "1": ["l", "I"], "5": ["S"]}


@dataclass(frozen=True)
class ContactCase:
    """One labelled text: ``expected`` holds the contact keys a perfect extractor returns."""

    text: str
    region: str
    expected: frozenset[str]
    lang: str
    styles: tuple[str, ...]


def random_mobile(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    """A valid mobile number of ``region``: the metadata's example with random trailing digits."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    nsn = str(example.national_number)
    for _ in range(200):
        tail = "".join(rng.choice("0123456789") for _ in range(6))
        cand = phonenumbers.parse(f"+{example.country_code}{nsn[:-6]}{tail}")
        if phonenumbers.is_valid_number(cand):
            return cand
    return example


def obfuscate_phone(rng: random.Random, number: phonenumbers.PhoneNumber, style: str,
                    lang: str) -> str:
    """``number`` written in obfuscation ``style`` (one of :data:`PHONE_STYLES`)."""
    fmt = phonenumbers.format_number
    intl = fmt(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    nat = fmt(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    nat_digits = "".join(c for c in nat if c.isdigit())
    base = intl if rng.random() < 0.5 else nat
    digits = "".join(c for c in base if c.isdigit())
    plus = "+" if base.startswith("+") else ""
    if style == "international":
        return intl
    if style == "national":
        return nat
    if style == "digits":
        return nat_digits
    if style == "spaced":
        return plus + " ".join(digits)
    if style == "dotted":
        return plus + ".".join(digits[i:i + 3] for i in range(0, len(digits), 3))
    if style == "dashed":
        return plus + "-".join(digits)
    if style == "bracketed":
        return plus + "(" + digits[:3] + ") " + digits[3:6] + "-" + digits[6:]
    if style == "words":
        return " ".join(DIGIT_WORDS[lang][int(c)] for c in nat_digits)
    if style == "mixed_words":
        cut = rng.randint(3, len(nat_digits) - 3)
        return nat_digits[:cut] + " " + " ".join(DIGIT_WORDS[lang][int(c)]
                                                 for c in nat_digits[cut:])
    if style == "keycap":
        return "".join(c + "\ufe0f\u20e3" for c in nat_digits)
    if style == "fullwidth":
        return nat.translate(FULLWIDTH)
    if style == "letter_swap":
        out = []
        for c in nat:
            out.append(rng.choice(SWAP[c]) if c in SWAP and rng.random() < 0.5 else c)
        if out == list(nat):  # make sure at least one swap happens when possible
            for i, c in enumerate(out):
                if c in SWAP:
                    out[i] = SWAP[c][0]
                    break
        return "".join(out)
    if style == "double_zero":
        return "00" + "".join(c for c in intl if c.isdigit())
    raise ValueError(f"unknown phone style {style!r}")


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _handle(rng: random.Random) -> str:
    sep = rng.choice(["", "_", ".", ""])
    return _name(rng) + sep + rng.choice(["", "vip", "x", str(rng.randint(10, 99))])


def _one_contact(rng: random.Random, lang: str, region: str) -> tuple[str, str, str]:
    """(text, key, style) of one contact point."""
    kind = rng.choices(["phone", "email", "telegram", "instagram", "url", "wa_link", "signal"],
                       weights=[55, 13, 11, 8, 6, 4, 3])[0]
    if kind == "phone":
        number = random_mobile(rng, region)
        style = rng.choice(PHONE_STYLES)
        text = obfuscate_phone(rng, number, style, lang)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if rng.random() < 0.3:
            ch = rng.choice(list(CHANNELS))
            text = f"{rng.choice(CHANNELS[ch])} {text}"
        return text, f"phone:{e164}", f"phone_{style}"
    if kind == "email":
        user = _handle(rng).strip(".")
        domain = rng.choice(EMAIL_DOMAINS)
        style = rng.choice(list(EMAIL_STYLES))
        pattern, dot = EMAIL_STYLES[style]
        text = pattern.format(u=user, d=domain.replace(".", dot))
        return text, f"email:{user}@{domain}".lower(), f"email_{style}"
    if kind == "telegram":
        h = _handle(rng).strip(".")
        style = rng.choice(["tg_at", "tme", "https_tme", "word_colon", "cyr_at"])
        text = {"tg_at": f"TG: @{h}", "tme": f"t.me/{h}", "https_tme": f"https://t.me/{h}",
                "word_colon": f"Telegram: {h}", "cyr_at": f"телеграм @{h}"}[style]
        return text, f"telegram:{h.lower()}", f"telegram_{style}"
    if kind == "instagram":
        h = _handle(rng).strip(".")
        style = rng.choice(["insta_at", "ig_colon", "link"])
        text = {"insta_at": f"insta @{h}", "ig_colon": f"IG: {h}",
                "link": f"instagram.com/{h}"}[style]
        return text, f"instagram:{h.lower()}", f"instagram_{style}"
    if kind == "url":
        host = _name(rng) + "." + rng.choice(TLD_SITES)
        path = rng.choice(["", "/" + _name(rng), "/profile/" + str(rng.randint(100, 999))])
        style = rng.choice(["https", "www", "bare"])
        pre = {"https": "https://", "www": "www.", "bare": ""}[style]
        if style == "bare" and not path:
            path = "/" + _name(rng)
        return f"{pre}{host}{path}", f"url:{host}{path}", f"url_{style}"
    if kind == "wa_link":
        number = random_mobile(rng, region)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return f"wa.me/{e164[1:]}", f"phone:{e164}", "whatsapp_link"
    h = _name(rng) + "." + str(rng.randint(10, 99))
    return f"Signal: {h}", f"signal:{h}", "signal_username"


def contact_cases(n: int = 600, seed: int = 8) -> list[ContactCase]:
    """``n`` labelled cases (deterministic for a given ``seed``); see the module docstring."""
    rng = random.Random(seed)
    cases: list[ContactCase] = []
    langs = list(LANG_REGIONS)
    for i in range(n):
        lang = langs[i % len(langs)]
        region = rng.choice(LANG_REGIONS[lang])
        parts: list[str] = []
        keys: set[str] = set()
        styles: list[str] = []
        if rng.random() < 1 / 6:
            parts = rng.sample(DISTRACTORS[lang], 2)
            styles.append("negative")
        else:
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                text, key, style = _one_contact(rng, lang, region)
                parts.append(rng.choice(CALL[lang]).format(c=text))
                keys.add(key)
                styles.append(style)
            if rng.random() < 0.5:
                parts.insert(rng.randint(0, len(parts)), rng.choice(DISTRACTORS[lang]))
        cases.append(ContactCase(" ".join(parts), region, frozenset(keys), lang, tuple(styles)))
    return cases


def evaluate(cases: Iterable[ContactCase],
             extractor: Callable[[str, str], list[ContactPoint]]) -> dict[str, object]:
    """Micro precision/recall of ``extractor(text, region)`` over contact keys.

    Returns ``{"cases", "tp", "fp", "fn", "precision", "recall", "by_style", "errors"}`` where
    ``by_style`` maps each style to ``{"tp", "fn"}`` (recall per obfuscation) and ``errors`` lists
    up to 20 ``(text, missed, spurious)`` examples.
    """
    tp = fp = fn = 0
    n = 0
    by_style: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fn": 0, "fp": 0})
    errors: list[tuple[str, list[str], list[str]]] = []
    for case in cases:
        n += 1
        got = {c.key for c in extractor(case.text, case.region)}
        hit = got & case.expected
        missed = case.expected - got
        spurious = got - case.expected
        tp += len(hit)
        fn += len(missed)
        fp += len(spurious)
        for s in case.styles:
            by_style[s]["tp"] += len(hit) if len(case.styles) == 1 else 0
            by_style[s]["fn"] += len(missed) if len(case.styles) == 1 else 0
            by_style[s]["fp"] += len(spurious) if len(case.styles) == 1 else 0
        if (missed or spurious) and len(errors) < 20:
            errors.append((case.text, sorted(missed), sorted(spurious)))
    return {"cases": n, "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
            "by_style": dict(by_style), "errors": errors}
