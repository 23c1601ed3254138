"""Every string the pages translate has a Ukrainian translation; language negotiation."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import re
from importlib import resources
from types import ModuleType, SimpleNamespace

from safelight.messages import Message
from safelight.refer import match, places, referral
from safelight.refer.match import DirectoryIndex
from safelight.refer.model import GENDERS, LEGAL_STATUSES, NEED_LABELS, REFERRAL_REASONS, Person
from safelight.release.settings import RELEASE_FILES
from safelight.web import linkage, pages, referrals, releases
from safelight.web.i18n import catalogue, negotiate, translator
from safelight.web.render import NAV


def _template_strings() -> set[str]:
    root = resources.files("safelight.web").joinpath("templates")
    found: set[str] = set()
    for t in root.iterdir():
        if t.name.endswith(".html"):
            text = t.read_text("utf-8")
            found |= set(re.findall(r'_\(\s*"([^"]+)"', text))
            found |= set(re.findall(r"_\(\s*'([^']+)'", text))
    return found


def _message_templates(*modules: ModuleType) -> set[str]:
    """The templates of every ``Message("...")`` written in ``modules`` (both of a conditional
    ``Message("a" if x else "b")``)."""
    found: set[str] = set()
    for module in modules:
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Message":
                arg = node.args[0]
                for c in (arg.body, arg.orelse) if isinstance(arg, ast.IfExp) else (arg,):
                    assert isinstance(c, ast.Constant), ast.unparse(node)  # a literal template
                    found.add(c.value)
    return found


def _missing(strings) -> list[str]:
    uk = catalogue("uk")
    return sorted(s for s in strings if not uk.get(s))


def test_ukrainian_catalogue_covers_every_template_string_and_label():
    wanted = _template_strings() | {label for _, _, label in NAV} | {
        "admin", "contributor", "analyst", "reviewer", "viewer", "caseworker", "match", "non_match",
        "aggregates", "synthetic", "Open", "Decided", "All", "suppressed"}
    # what the services and referrals pages translate from the refer stage's vocabularies
    wanted |= {*NEED_LABELS.values(), *GENDERS, *LEGAL_STATUSES, *REFERRAL_REASONS}
    wanted |= set(RELEASE_FILES)  # release methods, also those of the command line
    assert len(wanted) > 100
    assert not _missing(wanted)


def test_ukrainian_catalogue_covers_the_messages_the_pages_show():
    """A match's reasons and the refusals a caseworker meets, as the web words them, and why a
    release is withheld."""
    templates = _message_templates(match, referral, referrals, pages, releases, linkage)
    assert len(templates) > 30
    assert not _missing(referrals.web_wording(t) for t in templates)
    # a place the search's "near" field does not find
    assert not _missing(referrals.near_field(t) for t in _message_templates(places))


def _row(sid: str, **kw) -> dict:
    return {"service_id": sid, "organization_id": "o", "name": sid, "country": "POL", "place": "Warsaw",
            "latitude": 52.23, "longitude": 21.01, "needs": ["shelter"], "languages": ["pl"],
            "interpretation": False, "min_age": None, "max_age": None, "genders": None,
            "nationalities": None, "legal_statuses": None, "children": None,
            "capacity_available": None, "capacity_maximum": None, "hours": None,
            "confidential": False} | kw


def test_every_reason_of_a_match_is_a_message_the_catalogue_translates():
    """Searches that reach every kind of reason: each one is a Message (an English-only f-string
    would not be translated) whose template and terms are in the catalogue."""
    ix = DirectoryIndex.from_rows([
        _row("restricted", needs=["shelter", "legal_aid"], languages=["uk"], confidential=True,
             genders=["female"], min_age=18, nationalities=["UKR"], legal_statuses=["refugee"],
             capacity_available=3, capacity_maximum=5, hours="[[0, 0, 1440]]"),
        _row("by-phone", needs=["legal_aid"], languages=["ru"], latitude=None, longitude=None,
             hours="[[1, 540, 1020]]"),
        _row("interpreters", interpretation=True),
        _row("no-language"),
        _row("far", latitude=50.06, longitude=19.94),  # Kraków, ~250 km from Warsaw
    ])
    monday = dt.datetime(2026, 11, 30, 10, 0)
    near = {"latitude": 52.23, "longitude": 21.01}
    found = [*ix.match(Person(needs=("shelter", "legal_aid", "child_care"), languages=("uk", "ru"),
                              **near), at=monday),
             *ix.match(Person(needs=("legal_aid", "shelter"), languages=("ru",), **near),
                       at=monday),
             *ix.match(Person(needs=("shelter",), gender="female", age=30, nationality="UKR",
                              legal_status="refugee", **near)),
             *ix.match(Person(needs=("shelter",), latitude=54.35, longitude=18.65, max_km=100))]
    reasons = [r for m in found for r in m.reasons]
    assert all(isinstance(r, Message) for r in reasons), [r for r in reasons if not isinstance(r, Message)]
    assert {r.template for r in reasons} == _message_templates(match)  # every kind was reached
    assert not _missing({r.template for r in reasons} | {t for r in reasons
                                                          for ts in r.terms.values() for t in ts})
    uk = translator("uk")
    assert uk(Message("also meets: {needs}", terms={"needs": ["Legal aid", "Child care"]})) == \
        "також задовольняє: правова допомога, догляд за дітьми"


def test_negotiation():
    assert negotiate(None, "uk-UA,uk;q=0.9,en;q=0.8") == "uk"
    assert negotiate(None, "de,en;q=0.5") == "en"
    assert negotiate(None, "fr") == "en"
    assert negotiate("uk", "en") == "uk"
    assert negotiate("xx", "en;q=0.2,uk;q=0.9") == "uk"
    assert translator("uk")("Sign in") == "Увійти"
    assert translator("en")("Sign in") == "Sign in"


def test_every_reason_a_release_is_withheld_is_a_message_the_catalogue_translates(tmp_path):
    evaluation = tmp_path / "evaluation.json"
    evaluation.write_text('{"by_length": [{"length": 1, "leaked": 2}]}', "utf-8")
    state = SimpleNamespace(settings=SimpleNamespace(report_threshold=11))
    rows = [{"k": None}, {"k": 3}, {"k": 11, "method": "dp-aggregates", "params": {"params": {}}},
            {"k": 11, "method": "dp-aggregates", "params": {"failed": "NothingReleasedError"}},
            {"k": 11, "method": "synthetic", "output_path": None},
            {"k": 11, "method": "synthetic", "output_path": str(tmp_path / "synthetic.csv"),
             "reporting_length": 2}]
    reasons = [releases.withheld(state, row) for row in rows]
    assert all(isinstance(r, Message) for r in reasons), reasons
    assert {r.template for r in reasons} == _message_templates(releases) - {
        "release {rid} is not handed out: {reason}. It stays in the ledger for its privacy cost"}
    assert translator("uk")(reasons[1]) == \
        "зроблено з k = 3, що менше за поріг малих чисел цього хабу (11)"
