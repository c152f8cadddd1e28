"""Catalog entries with hit counts from rollups, tenant-scoped."""
from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from core.schema import catalog_entries
from core.schema import failure_matches as fm
from loaders.catalog.usage import get_catalog_hits, get_matched_under_other_codes
from tests.support.ops_seed import seed


def test_hits_equal_matched_rows_per_code(engine):
    s = seed(engine)
    with engine.connect() as conn:
        for tenant in (None, "t1", "t2"):
            df = get_catalog_hits(conn, tenant_id=tenant, start=s.start, end=s.end)
            q = select(fm.c.error_code).where(fm.c.catalog_entry_id.is_not(None), fm.c.created_at >= s.start,
                                              fm.c.created_at < s.end)
            if tenant:
                q = q.where(fm.c.tenant_id == tenant)
            want = Counter(conn.execute(q).scalars())
            got = dict(zip(df["code"], df["hits"], strict=True))
            assert len(df) == conn.execute(select(func.count()).select_from(catalog_entries)).scalar()
            for code, n in got.items():
                assert n == want.get(code, 0), (tenant, code)
            assert df["hits"].is_monotonic_decreasing
            assert df.loc[df["hits"] == 0, "last_hit"].isna().all()
        assert get_matched_under_other_codes(conn, tenant_id=None) == 0
        all_time = get_catalog_hits(conn, tenant_id="t1")
        assert all_time.set_index("code").loc["NET_CONNECTION_REFUSED", "hits"] == 7
