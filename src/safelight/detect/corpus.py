"""A seeded generator of templated ads with realistic variation, and its ground truth.

Contract
--------
:func:`generate_corpus` returns a :class:`Corpus`: parallel lists of ad ids, texts, sites,
cities, posting times and regions, plus the truth — the operator who posted each ad (the label
cluster quality is measured against) and the operator whose template it started from. The same
:class:`CorpusSettings` (seed included) gives the same corpus on every machine.

How ads vary (each knob is a field of :class:`CorpusSettings`):

* **operators** post from one template each: 5–9 clauses, 40% drawn from a per-language pool of
  stock clause patterns and 60% the operator's own sentences (words drawn Zipf-wise from the
  language's vocabulary), with fillers (adjectives, nouns, perks) fixed per operator, plus a
  signature phrase for about half of them; operator sizes are heavy-tailed (most post a few
  ads, some hundreds); ``singleton_share`` of ads come from one-off posters;
* **slot changes**: name (from the operator's 1–4 personas), age, city (from its cities), price
  and phone (its 1–3 numbers, written in a random obfuscation style) change from ad to ad;
* **paraphrase**: each clause re-draws one filler with probability ``paraphrase``;
* **word edits**: each word is substituted, deleted or followed by an inserted word with
  probability ``edit_rate`` (0.13 ≈ "13% of words edited");
* **shared boilerplate**: each ad appends 0–``max_boilerplate`` sentences drawn from a pool
  shared by *all* operators of a language (what makes plain MinHash merge operators);
* **copied templates**: ``copy_share`` of operators start from another operator's template and
  re-draw ``copy_change`` of its clauses (at least two); they are different operators in the truth;
* **mixed languages**: ``bilingual_share`` of operators mix clauses from two languages;
* **hub phones**: ``hub_phone_share`` of ads carry one of a few numbers shared across operators
  (booking lines, reused burner numbers) — what makes naive phone linking merge operators.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import phonenumbers

from safelight.detect.testdata import PHONE_STYLES, obfuscate_phone, random_mobile

__all__ = ["Corpus", "CorpusSettings", "generate_corpus"]

# Clause patterns: {a}, {n}, {p} are fillers (adjective, noun, perk) fixed per operator;
# {name}, {age}, {city}, {price}, {phone} are slots that change per ad.
PATTERNS: dict[str, list[str]] = {
    "en": [
        "hi gentlemen my name is {name} and i am {age} years old",
        "i am a {a} {n} just arrived in {city}",
        "new in town {a} and {a} {n} waiting for you",
        "i offer {p} and {p} for generous men",
        "my place is {a} clean and discreet near the centre of {city}",
        "available for incall and outcall {p} included",
        "rates from {price} per hour no negotiation",
        "call or text me at {phone}",
        "we are hiring {a} girls for work in hotels abroad",
        "no experience needed {p} and {p} provided",
        "salary from {price} per week paid in cash",
        "visa and travel paid by the company contact {phone}",
        "looking for a {a} {n} to make you feel special",
        "ask for {name} when you call {phone}",
        "i love {p} and {a} evenings with a {n}",
        "first time in {city} only for a few days",
        "fresh {a} {n} with a {a} smile and soft skin",
        "book early because my {p} fills up fast",
    ],
    "es": [
        "hola caballeros me llamo {name} y tengo {age} años",
        "soy una {n} {a} recién llegada a {city}",
        "nueva en la ciudad {a} y {a} te espero",
        "ofrezco {p} y {p} para hombres generosos",
        "mi piso es {a} limpio y discreto en el centro de {city}",
        "precio desde {price} la hora sin regateo",
        "llámame o escríbeme al {phone}",
        "buscamos chicas {a} para trabajar en hoteles en el extranjero",
        "no se necesita experiencia {p} y {p} incluidos",
        "sueldo desde {price} por semana en efectivo",
        "pregunta por {name} cuando llames al {phone}",
        "primera vez en {city} solo unos días",
    ],
    "ro": [
        "salut domnilor mă numesc {name} și am {age} ani",
        "sunt o {n} {a} abia sosită în {city}",
        "nouă în oraș {a} și {a} te aștept",
        "ofer {p} și {p} pentru bărbați generoși",
        "apartament {a} curat și discret în centrul {city}",
        "tarif de la {price} pe oră fără negociere",
        "sună sau scrie-mi la {phone}",
        "angajăm fete {a} pentru muncă în hoteluri în străinătate",
        "nu este nevoie de experiență {p} și {p} asigurate",
        "salariu de la {price} pe săptămână plătit cash",
        "întreabă de {name} când suni la {phone}",
        "prima dată în {city} doar câteva zile",
    ],
    "uk": [
        "привіт чоловіки мене звати {name} мені {age} років",
        "я {a} {n} щойно приїхала до {city}",
        "нова в місті {a} і {a} чекаю на тебе",
        "пропоную {p} та {p} для щедрих чоловіків",
        "квартира {a} чиста і затишна в центрі {city}",
        "ціна від {price} за годину без торгу",
        "дзвони або пиши {phone}",
        "шукаємо {a} дівчат для роботи в готелях за кордоном",
        "досвід не потрібен {p} та {p} надаємо",
        "зарплата від {price} на тиждень готівкою",
        "питай {name} коли дзвониш {phone}",
        "вперше в {city} лише кілька днів",
    ],
    "ru": [
        "привет мужчины меня зовут {name} мне {age} лет",
        "я {a} {n} только приехала в {city}",
        "новенькая в городе {a} и {a} жду тебя",
        "предлагаю {p} и {p} для щедрых мужчин",
        "квартира {a} чистая и уютная в центре {city}",
        "цена от {price} в час без торга",
        "звони или пиши {phone}",
        "ищем {a} девушек для работы в отелях за границей",
        "опыт не нужен {p} и {p} предоставляем",
        "зарплата от {price} в неделю наличными",
        "спроси {name} когда звонишь {phone}",
        "впервые в {city} всего несколько дней",
    ],
}
FILLERS: dict[str, dict[str, list[str]]] = {
    "en": {"a": ["sweet", "young", "hot", "petite", "elegant", "sexy", "friendly", "exotic",
                 "playful", "classy", "tender", "busty", "slim", "cute", "naughty", "gentle"],
           "n": ["girl", "lady", "companion", "princess", "doll", "angel", "student", "model",
                 "blonde", "brunette"],
           "p": ["massage", "accommodation", "meals", "transport", "relaxation", "company",
                 "dinner dates", "overnights", "travel", "good money", "free housing", "bonuses"]},
    "es": {"a": ["dulce", "joven", "caliente", "elegante", "sexy", "simpática", "exótica",
                 "cariñosa", "delgada", "guapa", "traviesa", "tierna"],
           "n": ["chica", "señorita", "compañera", "muñeca", "modelo", "rubia", "morena",
                 "estudiante"],
           "p": ["masajes", "alojamiento", "comida", "transporte", "relax", "compañía", "viajes",
                 "buen dinero", "vivienda gratis", "bonos"]},
    "ro": {"a": ["dulce", "tânără", "fierbinte", "elegantă", "sexy", "prietenoasă", "exotică",
                 "jucăușă", "slabă", "drăguță", "tandră", "frumoasă"],
           "n": ["fată", "domnișoară", "companie", "păpușă", "model", "blondă", "brunetă",
                 "studentă"],
           "p": ["masaj", "cazare", "masă", "transport", "relaxare", "companie", "călătorii",
                 "bani buni", "locuință gratuită", "bonusuri"]},
    "uk": {"a": ["мила", "молода", "гаряча", "елегантна", "ніжна", "привітна", "екзотична",
                 "струнка", "гарна", "пустотлива", "лагідна", "весела"],
           "n": ["дівчина", "леді", "компаньйонка", "лялечка", "модель", "блондинка", "брюнетка",
                 "студентка"],
           "p": ["масаж", "житло", "харчування", "трансфер", "відпочинок", "компанію", "подорожі",
                 "хороші гроші", "безкоштовне житло", "бонуси"]},
    "ru": {"a": ["милая", "молодая", "горячая", "элегантная", "нежная", "приветливая",
                 "экзотическая", "стройная", "красивая", "озорная", "ласковая", "весёлая"],
           "n": ["девушка", "леди", "компаньонка", "куколка", "модель", "блондинка", "брюнетка",
                 "студентка"],
           "p": ["массаж", "жильё", "питание", "трансфер", "отдых", "компанию", "путешествия",
                 "хорошие деньги", "бесплатное жильё", "бонусы"]},
}
BOILERPLATE: dict[str, list[str]] = {
    "en": ["100% real photos no fake no games", "available 24/7 for you", "no rush guaranteed",
           "satisfaction guaranteed or your money back", "safe and discreet location",
           "serious inquiries only no texts", "new photos every week", "no blocked numbers please",
           "visa and mastercard accepted", "please be respectful and clean"],
    "es": ["fotos 100% reales sin engaños", "disponible 24/7 para ti", "sin prisas garantizado",
           "solo llamadas serias", "lugar seguro y discreto", "fotos nuevas cada semana",
           "no números ocultos por favor", "aceptamos tarjeta"],
    "ro": ["poze 100% reale fără înșelăciuni", "disponibilă 24/7 pentru tine",
           "fără grabă garantat", "doar apeluri serioase", "loc sigur și discret",
           "poze noi în fiecare săptămână", "fără numere ascunse vă rog", "accept card"],
    "uk": ["фото 100% реальні без обману", "доступна 24/7 для тебе", "без поспіху гарантовано",
           "тільки серйозні дзвінки", "безпечне і дискретне місце", "нові фото щотижня",
           "без прихованих номерів будь ласка", "приймаємо картку"],
    "ru": ["фото 100% реальные без обмана", "доступна 24/7 для тебя", "без спешки гарантировано",
           "только серьёзные звонки", "безопасное и дискретное место", "новые фото каждую неделю",
           "без скрытых номеров пожалуйста", "принимаем карту"],
}
NAMES = ["anna", "maria", "olga", "sofia", "elena", "irina", "natasha", "lucia", "ana", "ioana",
         "daria", "kate", "mila", "lena", "vika", "alina", "diana", "nina", "carla", "yulia",
         "oksana", "camila", "andreea", "tanya", "masha", "valeria", "bianca", "polina", "eva",
         "nadia"]
CITIES = {"en": ["london", "new york", "chicago", "manchester", "houston", "miami", "leeds",
                 "boston", "dallas", "atlanta"],
          "es": ["madrid", "barcelona", "valencia", "sevilla", "malaga", "bilbao", "monterrey",
                 "guadalajara"],
          "ro": ["bucurești", "cluj", "iași", "timișoara", "constanța", "brașov", "chișinău"],
          "uk": ["київ", "львів", "одеса", "харків", "дніпро", "варшава", "прага"],
          "ru": ["москва", "казань", "сочи", "киев", "одесса", "минск", "дубай"]}
REGIONS = {"en": ["US", "GB"], "es": ["ES", "MX"], "ro": ["RO", "MD"], "uk": ["UA", "PL"],
           "ru": ["RU", "UA"]}
CURRENCY = {"en": "$", "es": "€", "ro": " lei", "uk": " грн", "ru": " руб"}
SITES = [f"site{i:02d}.example" for i in range(16)]
SIGNATURE_SYLLABLES = ["ka", "ri", "mo", "la", "zu", "vi", "ne", "ta", "so", "pe", "lu", "xa",
                       "do", "mi", "fe", "ro"]


@dataclass(frozen=True)
class CorpusSettings:
    """Knobs of :func:`generate_corpus` (see the module docstring)."""

    n_ads: int = 10_000
    seed: int = 2021
    edit_rate: float = 0.05
    paraphrase: float = 0.15
    max_boilerplate: int = 3
    copy_share: float = 0.15
    copy_change: float = 0.5
    bilingual_share: float = 0.1
    singleton_share: float = 0.15
    hub_phone_share: float = 0.03
    mean_operator_ads: float = 12.0
    languages: tuple[str, ...] = ("en", "es", "ro", "uk", "ru")

    def as_dict(self) -> dict[str, object]:
        """The settings as a JSON-ready dict."""
        return asdict(self)


@dataclass
class Corpus:
    """Generated ads (parallel lists) and their truth (``operator``, ``template_of``)."""

    settings: CorpusSettings
    ad_id: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    site: list[str] = field(default_factory=list)
    city: list[str] = field(default_factory=list)
    posted_at: list[str] = field(default_factory=list)
    region: list[str] = field(default_factory=list)
    operator: list[int] = field(default_factory=list)
    template_of: list[int] = field(default_factory=list)
    phones: list[list[str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ad_id)


@dataclass
class _Operator:
    ident: int
    clauses: list[tuple[str, str, dict[str, str]]]  # (lang, pattern, fixed fillers)
    lang: str
    names: list[str]
    cities: list[str]
    sites: list[str]
    phones: list[phonenumbers.PhoneNumber]
    region: str
    price: int
    start: datetime
    days: int
    template_of: int


def _vocabulary(lang: str) -> list[str]:
    words = [w for p in PATTERNS[lang] + BOILERPLATE[lang] for w in p.split() if "{" not in w]
    words += [w for v in FILLERS[lang].values() for f in v for w in f.split()]
    counts: dict[str, int] = {}
    for w in words:
        counts[w] = counts.get(w, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))


_VOCAB = {lang: _vocabulary(lang) for lang in PATTERNS}
_ZIPF = {lang: [1 / (r + 1) for r in range(len(v))] for lang, v in _VOCAB.items()}


def _draw_clause(rng: random.Random, lang: str, free_share: float = 0.6
                 ) -> tuple[str, str, dict[str, str]]:
    if rng.random() < free_share:  # an operator's own sentence: words drawn Zipf-wise
        words = rng.choices(_VOCAB[lang], weights=_ZIPF[lang], k=rng.randint(4, 10))
        words.insert(rng.randint(0, len(words)), rng.choice(["{a}", "{n}", "{p}"]))
        pattern = " ".join(words)
    else:
        pattern = rng.choice(PATTERNS[lang])
    fills = {f"{k}{i}": rng.choice(FILLERS[lang][k]) for k in "anp" for i in range(3)}
    return lang, pattern, fills


def _new_operator(rng: random.Random, ident: int, s: CorpusSettings,
                  copy_from: _Operator | None) -> _Operator:
    lang = copy_from.lang if copy_from else rng.choice(s.languages)
    if copy_from is not None:
        clauses = list(copy_from.clauses)
        n_change = max(2, round(s.copy_change * len(clauses)))
        for k in rng.sample(range(len(clauses)), min(n_change, len(clauses))):
            clauses[k] = _draw_clause(rng, clauses[k][0])
    else:
        langs = [lang]
        if rng.random() < s.bilingual_share:
            langs.append(rng.choice([x for x in s.languages if x != lang] or [lang]))
        clauses = [_draw_clause(rng, rng.choice(langs)) for _ in range(rng.randint(5, 9))]
        if rng.random() < 0.5:
            sig = "".join(rng.choice(SIGNATURE_SYLLABLES) for _ in range(rng.randint(2, 3)))
            clauses.insert(rng.randint(0, len(clauses)), (lang, f"{sig} {sig}", {}))
    region = rng.choice(REGIONS[lang])
    start = datetime(2023, 1, 1) + timedelta(days=rng.randint(0, 600))
    return _Operator(ident, clauses, lang, rng.sample(NAMES, rng.randint(1, 4)),
                     rng.sample(CITIES[lang], rng.randint(1, min(5, len(CITIES[lang])))),
                     rng.sample(SITES, rng.randint(1, 4)),
                     [random_mobile(rng, region) for _ in range(rng.randint(1, 3))], region,
                     rng.choice([50, 80, 100, 150, 200, 300, 500, 1000]), start,
                     rng.randint(1, 180), copy_from.ident if copy_from else ident)


def _fill(pattern: str, fills: dict[str, str], slots: dict[str, str], rng: random.Random,
          s: CorpusSettings, lang: str) -> str:
    counters = {"a": 0, "n": 0, "p": 0}
    out: list[str] = []
    for part in pattern.split(" "):
        if part.startswith("{") and part.endswith("}"):
            key = part[1:-1]
            if key in counters:
                i = counters[key]
                counters[key] += 1
                value = fills.get(f"{key}{i}", key)
                if rng.random() < s.paraphrase:  # paraphrase: re-draw one filler
                    value = rng.choice(FILLERS[lang][key])
                out.append(value)
            else:
                out.append(slots[key])
        else:
            out.append(part)
    return " ".join(out)


def _edit(words: list[str], rate: float, rng: random.Random, vocab: list[str]) -> list[str]:
    if rate <= 0:
        return words
    out: list[str] = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            out.append(rng.choice(vocab))  # substitute
        elif r < 2 * rate / 3:
            continue  # delete
        elif r < rate:
            out.extend([w, rng.choice(vocab)])  # insert
        else:
            out.append(w)
    return out


def generate_corpus(settings: CorpusSettings | None = None) -> Corpus:
    """Generate ``settings.n_ads`` ads with their truth (deterministic for given settings)."""
    s = settings or CorpusSettings()
    rng = random.Random(s.seed)
    corpus = Corpus(settings=s)
    vocab = _VOCAB
    hub_numbers = {region: [random_mobile(rng, region) for _ in range(2)]
                   for regions in REGIONS.values() for region in regions}
    operators: list[_Operator] = []
    n_single = int(s.n_ads * s.singleton_share)
    sizes: list[int] = []
    remaining = s.n_ads - n_single
    cap = max(2, s.n_ads // 40)
    while remaining > 0:
        size = min(cap, max(2, int(rng.paretovariate(1.3) * s.mean_operator_ads / 3.5)), remaining)
        sizes.append(size)
        remaining -= size
    if sizes and sizes[-1] < 2 and len(sizes) > 1:
        sizes[-2] += sizes.pop()
    sizes.extend([1] * n_single)
    rng.shuffle(sizes)
    ad_no = 0
    for ident, size in enumerate(sizes):
        copy_from = operators[rng.randrange(len(operators))] if (
            operators and rng.random() < s.copy_share) else None
        op = _new_operator(rng, ident, s, copy_from)
        operators.append(op)
        for _ in range(size):
            phone = rng.choice(op.phones)
            if rng.random() < s.hub_phone_share:
                phone = rng.choice(hub_numbers[op.region])
            style = rng.choice(PHONE_STYLES) if rng.random() < 0.5 else "national"
            slots = {"name": rng.choice(op.names), "age": str(rng.randint(19, 29)),
                     "city": rng.choice(op.cities),
                     "price": f"{op.price + rng.choice([0, 0, 10, 20, -10])}{CURRENCY[op.lang]}",
                     "phone": obfuscate_phone(rng, phone, style, op.lang)}
            sentences = [_fill(p, f, slots, rng, s, lang) for lang, p, f in op.clauses]
            if not any("{phone}" in p for _, p, _ in op.clauses):
                sentences.append(slots["phone"])
            words = _edit(" . ".join(sentences).split(" "), s.edit_rate, rng, vocab[op.lang])
            text = " ".join(words).replace(" . ", ". ")
            n_bp = rng.randint(0, s.max_boilerplate)
            if n_bp:
                extra = rng.sample(BOILERPLATE[op.lang], n_bp)
                text = ". ".join([text] + extra) if rng.random() < 0.7 else ". ".join(
                    extra + [text])
            posted = op.start + timedelta(days=rng.randint(0, op.days),
                                          minutes=rng.randint(0, 1439))
            corpus.ad_id.append(f"ad{ad_no:07d}")
            corpus.text.append(text)
            corpus.site.append(rng.choice(op.sites))
            corpus.city.append(slots["city"])
            corpus.posted_at.append(posted.isoformat(timespec="minutes"))
            corpus.region.append(op.region)
            corpus.operator.append(op.ident)
            corpus.template_of.append(op.template_of)
            corpus.phones.append([phonenumbers.format_number(
                phone, phonenumbers.PhoneNumberFormat.E164)])
            ad_no += 1
    order = list(range(len(corpus)))
    rng.shuffle(order)
    for name in ("text", "site", "city", "posted_at", "region", "operator", "template_of",
                 "phones"):
        values = getattr(corpus, name)
        setattr(corpus, name, [values[i] for i in order])
    return corpus
