-- Outcomes (Bland's "dispositions", spec 4): per-org definitions and their immutable
-- versions. PostgreSQL flavour; the SQLite file mirrors it statement for statement.

-- One row per disposition. `current_version` is the version that runs and that GET shows;
-- every create or update writes a new version and moves it.
CREATE TABLE dispositions (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    current_version  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX dispositions_org ON dispositions(org_id, created_at, id);

-- A disposition's versions, 1, 2, …, never changed once written. `definition` is the
-- checked JSON `{name, description, tag_field, fields}` of
-- `parley_domain::dispositions::Disposition::to_value`; logs name the version that ran.
CREATE TABLE disposition_versions (
    disposition_id  TEXT NOT NULL REFERENCES dispositions(id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL,
    version         BIGINT NOT NULL,
    definition      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (disposition_id, version)
);
