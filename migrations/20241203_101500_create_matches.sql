-- Migration: 20241203_101500_create_matches
-- Description: Matches between two teams and their scores
-- Generated: 2024-12-03T10:15:00

BEGIN;

CREATE TYPE match_status AS ENUM ('scheduled', 'live', 'finished', 'cancelled');

CREATE TABLE matches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    home_team_id  bigint NOT NULL REFERENCES teams (id),
    away_team_id  bigint NOT NULL REFERENCES teams (id),
    scheduled_at  timestamptz NOT NULL,
    status        match_status NOT NULL DEFAULT 'scheduled',
    home_score    integer NOT NULL DEFAULT 0 CHECK (home_score >= 0),
    away_score    integer NOT NULL DEFAULT 0 CHECK (away_score >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT matches_distinct_teams CHECK (home_team_id <> away_team_id)
);

CREATE INDEX matches_scheduled_at_idx ON matches (scheduled_at);
CREATE INDEX matches_home_team_idx ON matches (home_team_id);
CREATE INDEX matches_away_team_idx ON matches (away_team_id);

COMMIT;

-- Rollback script (uncomment if needed):
-- BEGIN;
-- DROP TABLE matches;
-- DROP TYPE match_status;
-- COMMIT;
