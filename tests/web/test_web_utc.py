"""Times on the pages say they are UTC (the hub stores UTC without a zone)."""

from __future__ import annotations

import datetime as dt

from safelight.web.services import utc_minute


def test_utc_minute_reads_datetimes_and_their_iso_text():
    when = dt.datetime(2026, 12, 2, 3, 20, 41, 123456)
    assert utc_minute(when) == "2026-12-02 03:20 UTC"
    assert utc_minute(when.isoformat()) == "2026-12-02 03:20 UTC"
    assert utc_minute("2026-12-02 03:20:41") == "2026-12-02 03:20 UTC"
    assert utc_minute(None) == "" and utc_minute("") == ""
