-- Migration: 20241208_143000_add_user_preferences
-- Description: Add user preferences table
-- Generated: 2024-12-08T14:30:00

BEGIN;

CREATE TABLE user_preferences (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    notify_match_start  boolean NOT NULL DEFAULT true,
    favourite_team_id   bigint REFERENCES teams (id) ON DELETE SET NULL,
    settings            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX idx_user_preferences_user_id ON user_preferences (user_id);

COMMIT;

-- Rollback script (uncomment if needed):
-- BEGIN;
-- DROP TABLE user_preferences;
-- COMMIT;
