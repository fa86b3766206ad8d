-- Migration: 20241212_080000_index_matches_status
-- Description: Index live and scheduled matches without blocking writes
-- Generated: 2024-12-12T08:00:00
-- rally:no-transaction

CREATE INDEX CONCURRENTLY IF NOT EXISTS matches_open_status_idx
    ON matches (status, scheduled_at)
    WHERE status IN ('scheduled', 'live');

-- Rollback script (uncomment if needed):
-- DROP INDEX CONCURRENTLY IF EXISTS matches_open_status_idx;
