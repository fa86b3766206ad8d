from __future__ import annotations

import psycopg


def test_deploy_sample_migrations_then_status(cli, database_url):  # type: ignore[no-untyped-def]
    result = cli("deploy", "--env", "staging", env={"DATABASE_STAGING_URL": database_url})
    assert result.code == 0, result.text
    assert result.out.count("applied 2024") == 6
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT count(*) FROM rally_gitops.applied").fetchone()
        assert rows == (6,)
        tables = conn.execute("SELECT to_regclass('public.user_preferences')").fetchone()
        assert tables[0] == "user_preferences"
    again = cli("status", "--env", "staging")
    assert again.code == 0
    assert "6 applied, 0 pending" in again.out
