"""Referrals need the person's recorded consent, are audited and show in the case data."""

from __future__ import annotations

import pytest

from safelight.errors import UsageError
from safelight.refer import referral
from safelight.refer.referral import ConsentError


def _add_case(hub, record_id: str, consent: str = "full") -> None:
    hub.ensure_contributor("ngo-a", "UKR")
    hub.con.execute("""INSERT INTO cases (contributor, record_id, contribution_id, source_row, consent,
                       consent_linkage, consent_statistics) VALUES ('ngo-a', ?, 1, 1, ?, true, true)""",
                    [record_id, consent])


def _service(hub) -> str:
    return hub.con.execute("SELECT service_id FROM refer_services ORDER BY service_id LIMIT 1").fetchone()[0]


def test_referral_is_refused_without_recorded_consent(small_dir):
    hub, *_ = small_dir
    _add_case(hub, "c1")
    with pytest.raises(ConsentError, match="no recorded consent"):
        referral.create_referral(hub, "ngo-a", "c1", _service(hub), caseworker="ana")
    assert hub.con.execute("SELECT count(*) FROM refer_referrals").fetchone()[0] == 0


def test_referral_with_consent_is_in_the_case_data_and_audited(small_dir):
    hub, *_ = small_dir
    _add_case(hub, "c2")
    sid = _service(hub)
    cid = referral.record_consent(hub, "ngo-a", "c2", caseworker="ana", note="asked in Ukrainian")
    row = referral.create_referral(hub, "ngo-a", "c2", sid, caseworker="ana", needs=["shelter"],
                                   details="needs a bed tonight")
    assert row["service_id"] == sid and row["caseworker"] == "ana" and row["reason"] == "AdditionalServicesRequired"
    assert row["organization_name"] and row["case_consent"] == "full"
    stored = hub.con.execute("SELECT consent_id, audit_seq FROM refer_referrals").fetchone()
    assert stored[0] == cid
    action = hub.con.execute("SELECT action FROM audit_log WHERE seq = ?", [stored[1]]).fetchone()[0]
    assert action == "refer_referral"
    assert hub.verify_audit()[0]
    assert referral.referrals_of_case(hub, "ngo-a", "c2")[0]["referral_id"] == row["referral_id"]


def test_withdrawn_consent_blocks_referrals(small_dir):
    hub, *_ = small_dir
    _add_case(hub, "c3")
    sid = _service(hub)
    cid = referral.record_consent(hub, "ngo-a", "c3", caseworker="ana")
    referral.withdraw_consent(hub, cid, actor="ana")
    with pytest.raises(ConsentError):
        referral.create_referral(hub, "ngo-a", "c3", sid, caseworker="ana")
    # data consent withdrawn on the case (hub-wide withdrawal) also blocks, even with a referral consent
    _add_case(hub, "c4")
    referral.record_consent(hub, "ngo-a", "c4", caseworker="ana")
    hub.withdraw_consent("ngo-a", ["c4"], actor="ana")
    with pytest.raises(ConsentError, match="withdrew"):
        referral.create_referral(hub, "ngo-a", "c4", sid, caseworker="ana")


def test_service_scoped_consent_covers_only_that_service(small_dir):
    hub, *_ = small_dir
    _add_case(hub, "c5")
    a, b = [r for (r,) in hub.con.execute("SELECT service_id FROM refer_services ORDER BY service_id LIMIT 2").fetchall()]
    referral.record_consent(hub, "ngo-a", "c5", caseworker="ana", service_id=a)
    referral.create_referral(hub, "ngo-a", "c5", a, caseworker="ana")
    with pytest.raises(ConsentError):
        referral.create_referral(hub, "ngo-a", "c5", b, caseworker="ana")


def test_unknown_case_service_or_reason_is_a_usage_error(small_dir):
    hub, *_ = small_dir
    _add_case(hub, "c6")
    with pytest.raises(UsageError, match="not in the hub"):
        referral.record_consent(hub, "ngo-a", "nobody", caseworker="ana")
    with pytest.raises(UsageError, match="not in the directory"):
        referral.create_referral(hub, "ngo-a", "c6", "no-such-service", caseworker="ana")
    with pytest.raises(UsageError, match="HTCDS"):
        referral.create_referral(hub, "ngo-a", "c6", _service(hub), caseworker="ana", reason="Because")


def test_a_consent_withdrawal_clears_the_referrals_free_text(small_dir):
    """A caseworker's note and a referral's details name and place the person: they outlived the
    withdrawal of the person's consent (privacy review and new-user trial, 2026-12-01), and the
    withdrawal's reason went into the permanent audit chain in clear."""
    import hashlib
    import json

    hub, *_ = small_dir
    _add_case(hub, "c7")
    _add_case(hub, "c8")
    sid = _service(hub)
    for rid in ("c7", "c8"):
        referral.record_consent(hub, "ngo-a", rid, caseworker="ana", note=f"Hanna {rid}, 050 179")
        referral.create_referral(hub, "ngo-a", rid, sid, caseworker="ana",
                                 details=f"meet {rid} at Khreshchatyk 5")
    counts = hub.withdraw_consent("ngo-a", ["c7"], actor="ana",
                                  reason="asked by Yulia Tkachenko by phone 050 179 39 28")
    assert counts["referral_rows_cleared"] == 2
    rows = hub.con.execute("SELECT record_id, note, withdrawn_at IS NOT NULL FROM refer_consents "
                           "ORDER BY record_id").fetchall()
    assert rows == [("c7", None, True), ("c8", "Hanna c8, 050 179", False)]
    assert hub.con.execute("SELECT record_id, details FROM refer_referrals ORDER BY record_id"
                           ).fetchall() == [("c7", None), ("c8", "meet c8 at Khreshchatyk 5")]
    assert referral.referrals_of_case(hub, "ngo-a", "c7")  # the referral itself is kept
    chain = json.dumps(hub.con.execute("SELECT CAST(details AS VARCHAR) FROM audit_log"
                                       ).fetchall(), ensure_ascii=False)
    assert "Tkachenko" not in chain and "050 179" not in chain and "Hanna" not in chain
    assert 'reason_given\\": true' in chain
    assert hashlib.sha256(b"asked by Yulia Tkachenko by phone 050 179 39 28").hexdigest() not in chain
    assert hub.verify_audit()[0]


def test_a_referral_sent_twice_is_recorded_once(small_dir):
    """A double click or the back button recorded the same referral twice (new-user trial of
    the web application, 2026-12-01)."""
    import datetime as dt

    hub, *_ = small_dir
    _add_case(hub, "c9")
    sid = _service(hub)
    referral.record_consent(hub, "ngo-a", "c9", caseworker="ana")
    first = referral.create_referral(hub, "ngo-a", "c9", sid, caseworker="ana")
    with pytest.raises(UsageError, match=f"already referred.*#{first['referral_id']}"):
        referral.create_referral(hub, "ngo-a", "c9", sid, caseworker="ana")
    assert len(referral.referrals_of_case(hub, "ngo-a", "c9")) == 1
    later = dt.date.today() + dt.timedelta(days=3)  # a new referral another day is fine
    referral.create_referral(hub, "ngo-a", "c9", sid, caseworker="ana", referral_date=later)
    assert len(referral.referrals_of_case(hub, "ngo-a", "c9")) == 2
