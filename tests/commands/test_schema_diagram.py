"""``rally-gitops schema diagram`` and ``compare --markdown``: ER diagrams of real schemas."""

from __future__ import annotations

import psycopg
import pytest

from testing.schema_cases import drop_replay_databases

USERS = """erDiagram
    user_preferences {
        bigint id PK
        bigint user_id FK
        boolean notify_match_start
        bigint favourite_team_id FK
        jsonb settings
        timestamptz created_at
    }
    users {
        bigint id PK
        text email
        text display_name
        bigint team_id FK
        timestamptz created_at
        timestamptz updated_at
        timestamptz last_seen_at
    }
    users ||--o{ user_preferences : "user_id"
"""


@pytest.fixture
def replay_url(make_database, pg_server, monkeypatch):
    url = make_database("replay")
    monkeypatch.setenv("RALLY_REPLAY_DATABASE_URL", url)
    yield url
    drop_replay_databases(pg_server.admin_url)


def test_mermaid_diagram_of_the_migrations(cli, replay_url) -> None:
    result = cli("schema", "diagram", "migrations", "--tables", "user*")
    assert (result.code, result.err) == (0, "")
    assert result.out == USERS
    everything = cli("schema", "diagram", "migrations").out
    assert everything.count(" {\n") == 5  # teams, users, matches, match_participants, prefs
    assert '    teams |o--o{ users : "team_id"\n' in everything  # nullable: zero or one team
    assert '    teams ||--o{ matches : "home_team_id"\n' in everything


def test_dot_diagram_keeps_quoted_names(cli, database_url) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            'CREATE SCHEMA "Audit"; CREATE TABLE "Audit"."Log" ("Id" int PRIMARY KEY, '
            'at timestamp with time zone); CREATE TABLE "Audit".entry ('
            'log_id int NOT NULL REFERENCES "Audit"."Log", "A&B" numeric(12,2))'
        )
    result = cli("schema", "diagram", database_url, "--format", "dot")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "digraph schema {" and lines[-1] == "}"
    assert "<b>Audit.Log</b>" in result.out
    assert '<td port="Id" align="left">Id <i>PK</i></td>' in result.out
    assert '<td port="A_B" align="left">A&amp;B</td>' in result.out
    assert (
        '<td port="A_B_out" align="left"><font color="#555555">numeric(12,2)</font>' in result.out
    )
    assert '    "Audit.Log":Id_out:e -> "Audit.entry":log_id:w [tooltip="fk"];' in lines
    mermaid = cli("schema", "diagram", database_url).out
    assert "    Audit_Log {\n        integer Id PK\n        timestamptz at\n    }\n" in mermaid
    assert "        numeric(12_2) A_B\n" in mermaid
    assert '    Audit_Log ||--o{ Audit_entry : "log_id"\n' in mermaid


def test_markdown_section_for_a_pull_request(cli, project, replay_url) -> None:
    from testing.gitrepo import git
    from testing.schema_cases import migration_file

    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "base")
    name = "20250101_000000_nickname"
    body = "ALTER TABLE teams ADD COLUMN city text;\nCREATE TABLE venues (id int PRIMARY KEY);"
    (project / "migrations" / f"{name}.sql").write_text(migration_file(name, body))
    result = cli("compare", "migrations@HEAD", "migrations", "--markdown")
    assert result.code == 1
    head, diagram = result.out.split("```mermaid\n")
    assert head.splitlines() == [
        "#### Schema changes",
        "",
        "2 differences: 2 added, 0 changed, 0 dropped (`migrations@HEAD` → `migrations`)",
        "",
        "| | kind | object | change |",
        "| --- | --- | --- | --- |",
        "| + | table | `public.venues` | added |",
        "| + | column | `public.teams.city` | added |",
        "",
    ]
    # the changed tables and their direct neighbours, not match_participants
    entities = [ln.split()[0] for ln in diagram.splitlines() if ln.endswith(" {")]
    assert entities == ["matches", "teams", "user_preferences", "users", "venues"]
    assert diagram.endswith("```\n")
    same = cli("compare", "migrations", "migrations", "--markdown")
    assert (same.code, same.out) == (
        0,
        "#### Schema changes\n\nNo schema changes between `migrations` and `migrations`.\n",
    )
