-- Migration: 20241210_120000_add_match_participants
-- Description: Which users played in which match, and a last-seen column on users
-- Generated: 2024-12-10T12:00:00

BEGIN;

CREATE TABLE match_participants (
    match_id    bigint NOT NULL REFERENCES matches (id) ON DELETE CASCADE,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL DEFAULT 'player',
    joined_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (match_id, user_id)
);

CREATE INDEX match_participants_user_idx ON match_participants (user_id);

ALTER TABLE users ADD COLUMN last_seen_at timestamptz;

COMMIT;

-- Rollback script (uncomment if needed):
-- BEGIN;
-- ALTER TABLE users DROP COLUMN last_seen_at;
-- DROP TABLE match_participants;
-- COMMIT;
