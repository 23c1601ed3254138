"""Who registers whom: the scenario's registrations, built from one seeded random stream.

Contract
--------
:class:`Registrar` ``(seed, n_records)`` with :meth:`Registrar.build` fills ``regs`` (contributor
name -> its :class:`~safelight.demo.population.Registration` list) with about ``n_records``
registrations split by the contributors' shares, and ``persons`` with the persons behind them.
First the persons registered more than once are drawn along the routes of
:data:`~safelight.demo.contributors.PATHS` until they are :data:`MULTI_SHARE` of all persons;
then each contributor's remaining quota is filled with persons it alone registers, the years by
exact quotas so that small scenarios keep the published shape, about 3.5% of them in households.

Households (siblings, twins, a mother and child sharing family name, address and often phone)
are different persons: the near-matches that record linkage must *not* link. Everything is drawn
from ``rng`` (``random.Random("safelight-demo:<seed>")``) in a fixed order; the same seed and
``n_records`` give the same registrations.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from safelight.demo.contributors import PATHS, SPEC_BY_NAME, SPECS, Spec
from safelight.demo.countries import load_countries
from safelight.demo.names import NamePools
from safelight.demo.population import (
    AGE_LABOUR,
    CONSENT,
    FIRST_DAY,
    LAST_DAY,
    MULTI_SHARE,
    WAR_BOOST,
    YEAR_WEIGHTS,
    Person,
    PersonFactory,
    Registration,
    pick,
    random_day,
)

__all__ = ["Registrar"]


class Registrar:
    """Draws the scenario's persons and their registrations (see the module docstring)."""

    def __init__(self, seed: int, n_records: int) -> None:
        self.seed = seed
        self.n_records = n_records
        self.rng = random.Random(f"safelight-demo:{seed}")
        self.factory = PersonFactory(NamePools(), load_countries())
        self.pools = self.factory.pools
        self.countries = self.factory.countries
        self.persons = self.factory.persons
        self.regs: dict[str, list[Registration]] = {s.name: [] for s in SPECS}
        self.n_households = 0
        self.n_multi = 0

    def _year_weights(self, spec: Spec) -> dict[int, float]:
        """Registrations per year; the war boost for the Ukrainian and Polish contributors."""
        if not spec.war_boost:
            return YEAR_WEIGHTS
        return {y: w * WAR_BOOST.get(y, 1.0) for y, w in YEAR_WEIGHTS.items()}

    def build(self) -> None:
        """Draw all persons and registrations (call once)."""
        rng = self.rng
        targets = {s.name: round(self.n_records * s.share) for s in SPECS}
        diff = self.n_records - sum(targets.values())
        targets[SPECS[0].name] += diff
        multi_records = {s.name: 0 for s in SPECS}
        n_multi = 0
        path_weights = [p[0] for p in PATHS]
        # persons registered more than once, until they make MULTI_SHARE of all persons
        while n_multi < MULTI_SHARE / (1 - MULTI_SHARE) * (
            self.n_records - sum(multi_records.values())
        ):
            _, path, nats, female, forms = rng.choices(PATHS, weights=path_weights)[0]
            if any(multi_records[c] + 1 > targets[c] for c in path):
                continue
            self._register_path(rng, path, nats, female, forms)
            for c in path:
                multi_records[c] += 1
            n_multi += 1
        self.n_multi = n_multi
        for spec in SPECS:
            self._register_singles(rng, spec, targets[spec.name] - multi_records[spec.name])

    def _register_path(
        self,
        rng: random.Random,
        path: tuple[str, ...],
        nats: dict[str, float],
        female: float,
        forms: dict[str, float],
    ) -> None:
        first = SPEC_BY_NAME[path[0]]
        days = [random_day(rng, self._year_weights(first))]
        for _ in path[1:]:
            days.append(days[-1] + timedelta(days=rng.randint(14, 540)))
        overflow = (days[-1] - LAST_DAY).days
        if overflow > 0:
            days = [max(FIRST_DAY, d - timedelta(days=overflow)) for d in days]
        nationality = pick(rng, nats)
        sex = "female" if rng.random() < female else "male"
        labour_spec = next((SPEC_BY_NAME[c] for c in path if c == "it-labour"), first)
        ages = AGE_LABOUR if "it-labour" in path else first.ages
        person = self.factory.new_person(
            rng, nationality, sex, ages, pick(rng, forms), labour_spec.sectors, days[0]
        )
        for i, (c, d) in enumerate(zip(path, days, strict=True)):
            later = [
                SPEC_BY_NAME[x].country for x in path[i + 1 :] if SPEC_BY_NAME[x].kind != "hotline"
            ]
            self._add_reg(rng, person, SPEC_BY_NAME[c], d, later[0] if later else None)

    def _register_singles(self, rng: random.Random, spec: Spec, n: int) -> None:
        # years by exact quotas (largest remainder), so small scenarios keep the published shape
        weights = self._year_weights(spec)
        total = sum(weights.values())
        quotas = {y: n * w / total for y, w in weights.items()}
        counts = {y: int(q) for y, q in quotas.items()}
        for y in sorted(quotas, key=lambda y: counts[y] - quotas[y])[: n - sum(counts.values())]:
            counts[y] += 1
        year_list = [y for y, c in counts.items() for _ in range(c)]
        rng.shuffle(year_list)
        while n > 0:
            year = year_list[n - 1]
            day = random_day(rng, {year: 1.0})
            nationality = pick(rng, spec.nationalities)
            if n >= 2 and rng.random() < 0.035:
                n -= self._household(rng, spec, nationality, day, min(n, rng.choice((2, 2, 2, 3))))
                continue
            sex = "female" if rng.random() < spec.female else "male"
            person = self.factory.new_person(
                rng, nationality, sex, spec.ages, pick(rng, spec.forms), spec.sectors, day
            )
            self._add_reg(rng, person, spec, day, None)
            n -= 1

    def _household(
        self, rng: random.Random, spec: Spec, nationality: str, day: date, size: int
    ) -> int:
        """Siblings, twins, or a mother and child: same family name, address (and often phone)."""
        self.n_households += 1
        hid = f"H{self.n_households:05d}"
        kind = pick(rng, {"siblings": 0.6, "twins": 0.15, "parent_child": 0.25})
        form = pick(rng, spec.forms)
        if kind == "parent_child":
            size = 2
            base = self.factory.new_person(
                rng,
                nationality,
                "female",
                spec.ages,
                form,
                spec.sectors,
                day,
                age=rng.randint(28, 45),
            )
        else:
            sex = "female" if rng.random() < spec.female else "male"
            base = self.factory.new_person(
                rng, nationality, sex, spec.ages, form, spec.sectors, day
            )
        base.household = hid
        members = [base]
        for _ in range(size - 1):
            m = self.factory.relative(rng, base, kind, nationality, spec.ages, form, spec.sectors,
                                      day)
            m.household = hid
            m.locality, m.street = base.locality, base.street
            members.append(m)
        for m in members:
            self._add_reg(
                rng, m, spec, min(LAST_DAY, day + timedelta(days=rng.randint(0, 3))), None
            )
        return len(members)

    def _add_reg(
        self, rng: random.Random, person: Person, spec: Spec, day: date, later_country: str | None
    ) -> None:
        if spec.cex is None:
            cex = spec.country
        elif later_country and rng.random() < 0.8:
            cex = later_country
        else:
            cex = pick(rng, spec.cex)
        reg = Registration(person, spec.name, day, cex, consent=pick(rng, CONSENT))
        self.regs[spec.name].append(reg)
