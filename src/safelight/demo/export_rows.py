"""Each contributor's export rows: what it writes about a registration, in its own terms.

Contract
--------
:class:`RowRenderer` has one method per contributor (``ua`` ``pl`` ``de`` ``it`` ``ng`` ``ro``,
the first part of the contributor's name) that turns a
:class:`~safelight.demo.population.Registration` and what the contributor observed
(:class:`~safelight.demo.corruption.Observation`) into one row: a list in the order of the
contributor's column tuple (``UA_COLUMNS`` ...), or for ``it-labour`` a dict keyed by
``IT_KEYS``. Terms come from :mod:`safelight.demo.vocabulary`, so they are exactly what the
mapping profile reads. Each method draws from the contributor's own random stream in a fixed
order. :func:`columns` gives a contributor's header, :func:`row_id` a row's record id.
"""

from __future__ import annotations

import random
from datetime import date
from typing import TYPE_CHECKING, Any

from safelight.demo.contributors import SPEC_BY_NAME, Spec
from safelight.demo.countries import Country
from safelight.demo.population import Registration, pick
from safelight.demo.vocabulary import DE, HT, IT, PL, RO, UA, terms

if TYPE_CHECKING:
    from safelight.demo.corruption import Observation

__all__ = ["RowRenderer", "columns", "format_birth", "format_day", "row_id"]


def format_day(day: date | None, fmt: str) -> str:
    """``day`` in ``strftime`` format ``fmt``; empty for no day."""
    return day.strftime(fmt) if day else ""


def format_birth(b: tuple[int, int | None, int | None] | None, fmt: str) -> str:
    """A (year, month, day) birth date in ``fmt`` (DD MM YYYY); the year alone if partial."""
    if b is None:
        return ""
    y, m, d = b
    if m is None or d is None:
        return f"{y:04d}"
    return fmt.replace("DD", f"{d:02d}").replace("MM", f"{m:02d}").replace("YYYY", f"{y:04d}")


class RowRenderer:
    """Turns registrations into the rows of each contributor's export."""

    def __init__(self, countries: dict[str, Country]) -> None:
        self.c = countries

    def status(self, rng: random.Random, reg: Registration, spec: Spec) -> str:
        """The victim status the contributor records (drawn from its status mix)."""
        return pick(rng, spec.status)

    # ua-hotline -------------------------------------------------------------------------
    UA_COLUMNS = (
        "№ звернення",
        "Дата звернення",
        "Прізвище",
        "Ім'я",
        "По батькові",
        "Дата народження",
        "Вік",
        "Стать",
        "Громадянство",
        "Телефон",
        "Населений пункт",
        "Адреса",
        "Вид експлуатації",
        "Сфера праці",
        "Країна експлуатації",
        *UA.flags,
        "Хто вербував",
        "Статус",
        "Згода",
        "Примітки",
    )

    def ua(self, rng: random.Random, reg: Registration, o: Observation) -> list[Any]:
        p = reg.person
        cit = self.c[o.nationality]
        citizenship = cit.names["uk"] if rng.random() < 0.6 else cit.alpha2
        if rng.random() < 0.04:
            citizenship = ""
        cex = reg.cex or ""
        cex_s = self.c[cex].names["uk"] if cex else ""
        flags = ["так" if code in o.means else "ні" for code in UA.flags.values()]
        note = ""
        if rng.random() < 0.08:
            note = rng.choice(UA.notes)
        return [
            reg.record_id,
            format_day(reg.day, "%d.%m.%Y"),
            o.family or "",
            o.given or "",
            o.patronymic or "",
            format_birth(o.birth, "DD.MM.YYYY"),
            str(o.age) if rng.random() < 0.85 else "",
            UA.gender[o.gender],
            citizenship,
            o.phone or "",
            o.locality or "",
            o.street or "",
            terms(p.forms, UA.forms, ", "),
            terms(p.sectors, UA.sectors, ", "),
            cex_s,
            *flags,
            terms(p.recruiter, UA.recruiter, ", "),
            UA.status[self.status(rng, reg, SPEC_BY_NAME["ua-hotline"])],
            UA.consent[reg.consent],
            note,
        ]

    # pl-ngo -----------------------------------------------------------------------------
    PL_COLUMNS = (
        "Nr sprawy",
        "Data przyjęcia",
        "Imię",
        "Nazwisko",
        "Data urodzenia",
        "Płeć",
        "Obywatelstwo",
        "Telefon",
        "Miejscowość",
        "Nr dokumentu",
        "Forma wyzysku",
        "Branża",
        "Kraj wyzysku",
        "Środki kontroli",
        "Relacja z werbownikiem",
        "Status",
        "Zgoda",
        "Uwagi",
    )

    def pl(self, rng: random.Random, reg: Registration, o: Observation) -> list[Any]:
        p = reg.person
        return [
            reg.record_id,
            reg.day,
            o.given or "",
            o.family or "",
            format_birth(o.birth, "YYYY-MM-DD"),
            PL.gender[o.gender],
            o.nationality,
            o.phone or "",
            o.locality or "",
            o.doc or "",
            terms(p.forms, PL.forms, "; "),
            terms(p.sectors, PL.sectors, "; "),
            reg.cex or "",
            terms(o.means, PL.means, "; "),
            terms(p.recruiter, PL.recruiter, "; "),
            PL.status[self.status(rng, reg, SPEC_BY_NAME["pl-ngo"])],
            PL.consent[reg.consent],
            "tłumacz" if rng.random() < 0.05 else "",
        ]

    # de-police --------------------------------------------------------------------------
    DE_COLUMNS = (
        "Vorgangsnummer",
        "Datum Feststellung",
        "Familienname",
        "Vorname",
        "Geburtsdatum",
        "Alter",
        "Geschlecht",
        "Staatsangehörigkeit",
        "Telefon",
        "Wohnort",
        "Straße",
        "Ausweisnummer",
        "Ausweisart",
        "Ausbeutungsform",
        "Branche",
        "Kontrollmittel",
        "Beziehung zum Täter",
        "Opferstatus",
        "Einwilligung",
    )

    def de(self, rng: random.Random, reg: Registration, o: Observation) -> list[Any]:
        p = reg.person
        doc_type = ""
        if o.doc:
            doc_type = (
                rng.choice(("Reisepass", "Personalausweis"))
                if p.nationality in ("DEU", "POL", "ROU")
                else "Reisepass"
            )
        return [
            reg.record_id,
            format_day(reg.day, "%d.%m.%Y"),
            o.family or "",
            o.given or "",
            format_birth(o.birth, "DD.MM.YYYY"),
            str(o.age),
            DE.gender[o.gender],
            self.c[o.nationality].names["de"],
            o.phone or "",
            o.locality or "",
            o.street or "",
            o.doc or "",
            doc_type,
            terms(p.forms, DE.forms, " / "),
            terms(p.sectors, DE.sectors, " / "),
            terms(o.means, DE.means, "; "),
            terms(p.recruiter, DE.recruiter, "; "),
            DE.status[self.status(rng, reg, SPEC_BY_NAME["de-police"])],
            DE.consent[reg.consent],
        ]

    # it-labour --------------------------------------------------------------------------
    IT_KEYS = (
        "id_pratica",
        "data_accertamento",
        "cognome",
        "nome",
        "data_nascita",
        "eta",
        "sesso",
        "cittadinanza",
        "telefono",
        "comune_domicilio",
        "indirizzo",
        "documento",
        "tipo_documento",
        "settore",
        "forme_sfruttamento",
        "indicatori",
        "reclutatore",
        "mesi_sfruttamento",
        "status_vittima",
        "consenso",
    )

    def it(self, rng: random.Random, reg: Registration, o: Observation) -> dict[str, Any]:
        p = reg.person
        forms = terms(p.forms, IT.forms, "; ")
        if forms == "lavoro forzato" and rng.random() < 0.3:
            forms = "grave sfruttamento lavorativo"
        doc_type = None
        if o.doc:
            doc_type = "passaporto" if rng.random() < 0.7 else "permesso di soggiorno"
        values = [
            reg.record_id,
            format_day(reg.day, "%d/%m/%Y"),
            o.family,
            o.given,
            format_birth(o.birth, "DD/MM/YYYY") or None,
            o.age if rng.random() < 0.9 else None,
            IT.gender[o.gender],
            self.c[o.nationality].numeric,
            o.phone,
            o.locality,
            o.street,
            o.doc,
            doc_type,
            terms(p.sectors, IT.sectors, "; ") or None,
            forms,
            terms(o.means, IT.means, "; ") or None,
            terms(p.recruiter, IT.recruiter, "; "),
            p.months,
            IT.status[self.status(rng, reg, SPEC_BY_NAME["it-labour"])],
            IT.consent[reg.consent],
        ]
        return dict(zip(self.IT_KEYS, values, strict=True))

    # ng-ngo -----------------------------------------------------------------------------
    NG_COLUMNS = (
        "cas_CaseId",
        "cas_DateOpened",
        "prs_FirstName",
        "prs_MiddleName",
        "prs_LastName",
        "prs_Birthdate",
        "prs_Gender",
        "prs_Citizenship",
        "prs_MobilePhone",
        "prs_MailingCity",
        "prs_MailingStreet",
        "prs_IdentityNumber",
        "vic_TraffickingStatus",
        "vic_TypeOfExploitation",
        "vic_ForcedLabourIndustry",
        "vic_TypeOfSexExploitation",
        "vic_MethodsOfControl",
        "vic_RelationshipToTrafficker",
        "hte_Country",
        "con_Consent",
        "con_ConsentScope",
    )

    def ng(self, rng: random.Random, reg: Registration, o: Observation) -> list[Any]:
        p = reg.person
        given, middle = o.given, o.given2
        if middle and rng.random() < 0.3:
            given, middle = (f"{given} {middle}" if rng.random() < 0.5 else given), None
        rel = [r for r in p.recruiter if r in HT.recruiter]
        cex = reg.cex
        return [
            reg.record_id,
            format_day(reg.day, "%m/%d/%Y"),
            given,
            middle,
            o.family,
            format_birth(o.birth, "MM/DD/YYYY") or None,
            HT.gender[o.gender],
            self.c[o.nationality].alpha2,
            o.phone,
            o.locality,
            o.street,
            o.doc,
            HT.status[self.status(rng, reg, SPEC_BY_NAME["ng-ngo"])],
            terms(p.forms, HT.forms, ";"),
            terms(p.sectors, HT.sectors, ";") or None,
            terms(p.sex_types, HT.sex_types, ";") or None,
            terms(o.means, HT.means, ";") or None,
            terms(rel, HT.recruiter, ";") or None,
            self.c[cex].names["en"] if cex else None,
            "true" if reg.consent != "none" else "false",
            HT.consent[reg.consent],
        ]

    # ro-ngo -----------------------------------------------------------------------------
    RO_COLUMNS = (
        "Cod caz",
        "Data înregistrării",
        "Nume",
        "Prenume",
        "CNP",
        "Data nașterii",
        "Sex",
        "Cetățenie",
        "Telefon",
        "Localitate",
        "Adresă",
        "Formă de exploatare",
        "Domeniu",
        "Țara exploatării",
        "Relația cu recrutorul",
        "Acord",
    )

    def ro(self, rng: random.Random, reg: Registration, o: Observation) -> list[Any]:
        p = reg.person
        cnp = o.national_id if o.national_id and rng.random() < 0.85 else ""
        cex = reg.cex or ""
        return [
            reg.record_id,
            format_day(reg.day, "%d.%m.%Y"),
            o.family or "",
            o.given or "",
            cnp,
            format_birth(o.birth, "DD.MM.YYYY"),
            RO.gender[o.gender],
            self.c[o.nationality].alpha2,
            o.phone or "",
            o.locality or "",
            o.street or "",
            terms(p.forms, RO.forms, ", "),
            terms(p.sectors, RO.sectors, ", "),
            self.c[cex].names["ro"] if cex else "",
            terms(p.recruiter, RO.recruiter, ", "),
            RO.consent[reg.consent],
        ]


def row_id(spec: Spec, row: Any) -> str:
    """The record id of an export row."""
    if isinstance(row, dict):
        return str(row["id_pratica"])
    return str(row[0])


def columns(spec: Spec) -> tuple[str, ...]:
    """The header of ``spec``'s export (the keys of a JSON Lines record for ``it-labour``)."""
    return {
        "ua-hotline": RowRenderer.UA_COLUMNS,
        "pl-ngo": RowRenderer.PL_COLUMNS,
        "de-police": RowRenderer.DE_COLUMNS,
        "it-labour": RowRenderer.IT_KEYS,
        "ng-ngo": RowRenderer.NG_COLUMNS,
        "ro-ngo": RowRenderer.RO_COLUMNS,
    }[spec.name]
