"""How many records share a written full name: the namesake density of a generated problem.

Reads the records that ``scale.py --cache DIR`` keeps and prints, per file, the distinct
lower-cased ``(given_name, family_name)`` pairs over both sources, the median number of
records holding a record's written full name (itself included), the share of records whose
full name more than 10 records hold, and the largest such group. The demo's small name pools
and the long-tailed population (``scale.py --population long-tail``) differ most here.

    PYTHONPATH=src python bench/linkage/namesakes.py /tmp/lk/cache/records_1000000_seed1.parquet \
        /tmp/lk/cache-tail/records_1000000_seed1.parquet
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq


def namesakes(path: str) -> dict[str, float]:
    """The figures above for one records file (records without both names are left out)."""
    t = pq.read_table(path, columns=["given_name", "family_name"])
    key = pc.binary_join_element_wise(pc.utf8_lower(t["given_name"]),
                                      pc.utf8_lower(t["family_name"]), "|")
    valid = ~np.asarray(pc.is_null(key))
    codes = pc.dictionary_encode(key).combine_chunks()
    idx = np.asarray(codes.indices.fill_null(0)).astype(np.int64)[valid]
    count = np.bincount(idx)
    held = count[idx]
    return {"records": int(valid.sum()), "distinct_full_names": int((count > 0).sum()),
            "median_holders": float(np.median(held)),
            "share_over_10": round(float((held > 10).mean()), 3), "largest": int(count.max())}


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg, namesakes(arg))
