-- Migration: 20241201_090000_create_teams_and_users
-- Description: Create teams and users, the core of Rally
-- Generated: 2024-12-01T09:00:00

BEGIN;

CREATE TABLE teams (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    slug        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL,
    team_id       bigint REFERENCES teams (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_team_id_idx ON users (team_id);

COMMIT;

-- Rollback script (uncomment if needed):
-- BEGIN;
-- DROP TABLE users;
-- DROP TABLE teams;
-- COMMIT;
