-- migrate:up

-- Which seed sets were loaded into this database, at which version and scale, and what they
-- wrote. The seed runner reads it to make `npm run seed` idempotent (a recorded set + version +
-- scale is skipped) and to refuse or apply a newer version of a set.

CREATE TABLE seed_history (
  id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  set_name    text        NOT NULL,
  version     integer     NOT NULL,
  scale       numeric     NOT NULL DEFAULT 1,
  applied_at  timestamptz NOT NULL DEFAULT now(),
  duration_ms integer,
  row_counts  jsonb       NOT NULL DEFAULT '{}',
  checksum    text,
  CONSTRAINT seed_history_set_name_format_check CHECK (set_name ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$'),
  CONSTRAINT seed_history_version_positive_check CHECK (version > 0),
  CONSTRAINT seed_history_scale_positive_check CHECK (scale > 0),
  CONSTRAINT seed_history_duration_check CHECK (duration_ms IS NULL OR duration_ms >= 0),
  CONSTRAINT seed_history_row_counts_is_object_check CHECK (jsonb_typeof(row_counts) = 'object'),
  -- One row per applied set + version + scale; a forced re-run updates it.
  CONSTRAINT seed_history_set_name_version_scale_key UNIQUE (set_name, version, scale)
);

COMMENT ON TABLE seed_history IS 'Seed sets applied to this database (npm run seed): one row per set, version and scale.';
COMMENT ON COLUMN seed_history.scale IS 'The --scale the set ran at (1 for sets that do not scale).';
COMMENT ON COLUMN seed_history.row_counts IS 'Rows written per table, e.g. {"users": 3}.';
COMMENT ON COLUMN seed_history.checksum IS 'sha256 of the generated data (or of the set definition); NULL when the set gives none.';

-- migrate:down

DROP TABLE seed_history;
