-- Migration: 20241205_143000_touch_updated_at
-- Description: Keep users.updated_at current with a trigger
-- Generated: 2024-12-05T14:30:00

BEGIN;

CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER users_touch_updated_at
    BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

COMMIT;

-- Rollback script (uncomment if needed):
-- BEGIN;
-- DROP TRIGGER users_touch_updated_at ON users;
-- DROP FUNCTION touch_updated_at();
-- COMMIT;
