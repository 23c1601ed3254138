"""HSDS import/export, validation and quarantine, sealing and revealing locations."""

from __future__ import annotations

import copy
import json

import pytest

from safelight.errors import InputFileError
from safelight.refer import directory, vault
from safelight.refer.directory import AccessError
from safelight.refer.testdata import generate_directory
from safelight.store import open_hub


def _services(doc):
    return doc["services"]


def test_import_counts_add_up_and_confidential_locations_are_sealed(small_dir):
    hub, key, doc, report = small_dir
    assert report.rows_read == report.rows_accepted + report.rows_quarantined == 120 + len(doc["organizations"])
    n_conf = sum(any(sal["location"].get("safelight_confidential") for sal in s["service_at_locations"])
                 for s in doc["services"])
    assert n_conf > 0
    assert report.sealed_locations == n_conf
    assert hub.con.execute("SELECT count(*) FROM refer_services WHERE confidential").fetchone()[0] == n_conf
    # nothing of a sealed location is stored in clear anywhere in the hub's directory tables
    public = json.dumps([r[0] for r in hub.con.execute("SELECT CAST(public_doc AS VARCHAR) FROM refer_services").fetchall()])
    for s in doc["services"]:
        for sal in s["service_at_locations"]:
            loc = sal["location"]
            if loc.get("safelight_confidential"):
                assert loc["addresses"][0]["address_1"] not in public


def test_reveal_needs_grant_and_key_and_is_audited(small_dir, tmp_path):
    hub, key, doc, _ = small_dir
    sid, real = next((s["id"], sal["location"]) for s in doc["services"] for sal in s["service_at_locations"]
                     if sal["location"].get("safelight_confidential"))
    with pytest.raises(AccessError):
        directory.reveal_location(hub, sid, key=key, caseworker="eve", purpose="curious")
    directory.grant_caseworker(hub, "ana", actor="operator", may_reveal=True)
    got = directory.reveal_location(hub, sid, key=key, caseworker="ana", purpose="accompany survivor")
    assert got[0]["addresses"][0]["address_1"] == real["addresses"][0]["address_1"]
    assert got[0]["latitude"] == real["latitude"]
    other = vault.new_key_file(tmp_path / "other.key")
    with pytest.raises(vault.VaultError):
        directory.reveal_location(hub, sid, key=other, caseworker="ana", purpose="x")
    actions = [a for (a,) in hub.con.execute("SELECT action FROM audit_log ORDER BY seq").fetchall()]
    assert "refer_reveal_refused" in actions and "refer_reveal_location" in actions
    assert hub.verify_audit()[0]


def test_vault_rejects_tampering_and_moved_blobs(tmp_path):
    key = vault.new_key_file(tmp_path / "k")
    nonce, ct = vault.seal(key, "s1", "l1", {"address": "1 Birch Close"})
    assert vault.unseal(key, "s1", "l1", nonce, ct) == {"address": "1 Birch Close"}
    with pytest.raises(vault.VaultError):
        vault.unseal(key, "s2", "l1", nonce, ct)  # moved to another service
    bad = bytearray(ct)
    bad[0] ^= 1
    with pytest.raises(vault.VaultError):
        vault.unseal(key, "s1", "l1", nonce, bytes(bad))
    with pytest.raises(vault.VaultError):
        vault.new_key_file(tmp_path / "k")  # never overwrite a key
    (tmp_path / "junk").write_text("nothex")
    with pytest.raises(vault.VaultError):
        vault.load_key(tmp_path / "junk")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert vault.load_key(tmp_path / "k").key_id == key.key_id


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_operator_export_round_trips_without_the_key(small_dir, tmp_path, fmt):
    hub, key, _doc, _ = small_dir
    directory.export_directory(hub, tmp_path / "a", fmt=fmt, include_sealed=True)
    src = tmp_path / "a" / "services.json" if fmt == "json" else tmp_path / "a"
    if fmt == "json":  # a JSON export is two files; import the services with their organizations
        both = {"organizations": json.loads((tmp_path / "a" / "organizations.json").read_text()),
                "services": json.loads(src.read_text())}
        src = tmp_path / "both.json"
        src.write_text(json.dumps(both))
    with open_hub(tmp_path / "b.duckdb", create=True) as h2:
        rep = directory.import_directory(h2, src, actor="op")  # sealed blobs need no key
        assert rep.rows_quarantined == 0
        assert rep.sealed_locations == hub.con.execute("SELECT count(*) FROM refer_sealed_locations").fetchone()[0]
        directory.export_directory(h2, tmp_path / "c", fmt="json", include_sealed=True)
        directory.grant_caseworker(h2, "ana", actor="op", may_reveal=True)
        sid = h2.con.execute("SELECT service_id FROM refer_sealed_locations LIMIT 1").fetchone()[0]
        assert directory.reveal_location(h2, sid, key=key, caseworker="ana", purpose="t")
    directory.export_directory(hub, tmp_path / "d", fmt="json", include_sealed=True)
    assert json.loads((tmp_path / "c" / "services.json").read_text()) == json.loads((tmp_path / "d" / "services.json").read_text())


def test_public_export_has_no_confidential_location(small_dir, tmp_path):
    hub, _key, doc, _ = small_dir
    directory.export_directory(hub, tmp_path / "pub", fmt="csv")
    text = "".join(p.read_text() for p in (tmp_path / "pub").glob("*.csv"))
    assert "safelight_sealed" not in (tmp_path / "pub" / "locations.csv").read_text().splitlines()[1:][0]
    for s in doc["services"]:
        for sal in s["service_at_locations"]:
            if sal["location"].get("safelight_confidential"):
                assert sal["location"]["id"] not in text
                assert sal["location"]["addresses"][0]["address_1"] not in text


def _bad_file(tmp_path):
    doc = generate_directory(60, seed=3)
    s = doc["services"]
    conf = next(i for i, x in enumerate(s) if any(sal["location"].get("safelight_confidential") for sal in x["service_at_locations"]))
    plain = next(i for i, x in enumerate(s) if i != conf)
    def variant(i, suffix):
        x = copy.deepcopy(s[i])
        x["id"] += suffix
        return x

    cases = {}
    x = copy.deepcopy(s[plain])
    x.pop("id")
    cases["required"] = x
    x = variant(plain, "-b")
    x["status"] = "open"
    cases["enum"] = x
    x = variant(plain, "-c")
    x["attributes"][0]["taxonomy_term"]["code"] = "massage"
    cases["code"] = x
    x = variant(plain, "-d")
    x["service_at_locations"][0]["location"]["latitude"] = 123
    cases["range"] = x
    x = variant(plain, "-e")
    x["minimum_age"], x["maximum_age"] = 30, 20
    cases["order"] = x
    x = variant(conf, "-f")
    x["phones"], x["service_areas"] = [], []
    x["service_at_locations"] = [sal for sal in x["service_at_locations"] if not sal["location"].get("safelight_front_door")]
    cases["front_door"] = x
    x = variant(conf, "-g")
    real = next(sal["location"] for sal in x["service_at_locations"] if sal["location"].get("safelight_confidential"))
    x["description"] = "Find us at " + real["addresses"][0]["address_1"]
    cases["leak"] = x
    x = variant(plain, "-h")
    x["organization_id"] = "nobody"
    cases["reference"] = x
    cases["unique"] = copy.deepcopy(s[plain])
    cases["type"] = "not an object"
    doc["services"] = s + list(cases.values())
    doc["organizations"].append({"id": "org-x", "name": "No description"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    return path, cases, len(s), len(doc["organizations"])


def test_every_bad_row_is_quarantined_with_its_rule(tmp_path):
    path, cases, n_good, n_orgs = _bad_file(tmp_path)
    key = vault.new_key_file(tmp_path / "k")
    with open_hub(tmp_path / "h.duckdb", create=True) as hub:
        rep = directory.import_directory(hub, path, actor="op", key=key)
        assert rep.read == {"organization": n_orgs, "service": n_good + len(cases)}
        assert rep.rows_read == rep.rows_accepted + rep.rows_quarantined
        assert rep.quarantined == {"service": len(cases), "organization": 1}
        rules = [set(r) for (r,) in hub.con.execute("SELECT rules FROM refer_quarantine WHERE entity = 'service' ORDER BY source_row").fetchall()]
        for expected, got in zip(cases, rules, strict=True):
            assert expected in got, (expected, got)
        assert hub.con.execute("SELECT count(*) FROM refer_services").fetchone()[0] == n_good
        # the leaking service's description holds the shelter's street: none of it is kept
        # (a review exported it with `refer quarantine`), only the service's ids
        leaked = cases["leak"]["description"].removeprefix("Find us at ")
        raws = " ".join(r for (r,) in hub.con.execute("SELECT raw FROM refer_quarantine").fetchall())
        assert leaked not in raws and cases["leak"]["id"] in raws


def test_clear_confidential_location_without_key_is_quarantined_not_stored(tmp_path):
    doc = generate_directory(30, seed=5)
    path = tmp_path / "d.json"
    path.write_text(json.dumps(doc))
    n_conf = sum(any(sal["location"].get("safelight_confidential") for sal in s["service_at_locations"]) for s in doc["services"])
    with open_hub(tmp_path / "h.duckdb", create=True) as hub:
        rep = directory.import_directory(hub, path, actor="op")
        assert rep.quarantined.get("service") == n_conf > 0
        assert hub.con.execute("SELECT count(*) FROM refer_sealed_locations").fetchone()[0] == 0
        raws = [r for (r,) in hub.con.execute("SELECT array_to_string(rules, ',') FROM refer_quarantine").fetchall()]
        assert all("key" in r for r in raws)


def test_csv_orphans_are_quarantined(small_dir, tmp_path):
    hub, _key, _doc, _ = small_dir
    directory.export_directory(hub, tmp_path / "t", fmt="csv")
    with open(tmp_path / "t" / "phones.csv", "a", encoding="utf-8") as fh:
        fh.write("ph-orphan,,no-such-service,,,+1 555 0100,,voice,\n")
    with open_hub(tmp_path / "h2.duckdb", create=True) as h2:
        rep = directory.import_directory(h2, tmp_path / "t", actor="op")
        assert rep.quarantined == {"phones": 1}
        assert rep.rows_read == rep.rows_accepted + rep.rows_quarantined
        # whose phone is it? maybe a confidential location's: only its ids are kept
        (raw,), = h2.con.execute("SELECT raw FROM refer_quarantine").fetchall()
        assert "555 0100" not in raw and "ph-orphan" in raw and "redacted" in raw


def test_unreadable_files_raise_one_clear_error(tmp_path, hub):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(InputFileError, match="line 1"):
        directory.import_directory(hub, bad, actor="op")
    bad.write_text('{"hello": 1}')
    with pytest.raises(InputFileError, match="HSDS"):
        directory.import_directory(hub, bad, actor="op")
