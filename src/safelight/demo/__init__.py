"""The demo scenario: generated multi-agency case exports and their ground truth.

``generate_scenario(out_dir, seed=..., n_records=...)`` writes one export per contributor (each in
its own file format, language and code system, with the mapping profile that reads it), the true
person behind every record (``truth.csv``, read back by ``read_truth``) and a manifest (``scenario.json``). The same seed gives
byte-identical files. ``write_large_export(path, n_rows)`` streams a single hotline export of any
size for benchmarks. Everything is synthetic: names come from shipped frequency lists, figures
follow published distributions (see ``safelight.demo.population`` and ``docs/demo.md``).
For linkage benchmarks, ``safelight.demo.linkage_pairs.generate_linkage_pairs`` builds a
two-source problem of any size with the same persons and corruption model (and its truth), and
``safelight.demo.multilingual`` loads a hand-written set of name pairs across scripts.
"""

from safelight.demo.generator import (
    ContributorExport,
    Scenario,
    generate_scenario,
    read_truth,
    write_large_export,
)

__all__ = ["ContributorExport", "Scenario", "generate_scenario", "read_truth", "write_large_export"]
