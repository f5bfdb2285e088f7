-- Outcomes (Bland's "dispositions", spec 4): per-org definitions and their immutable
-- versions. SQLite flavour; the PostgreSQL file mirrors it statement for statement.

-- One row per disposition. `current_version` is the version that runs and that GET shows;
-- every create or update writes a new version and moves it.
CREATE TABLE dispositions (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    current_version  INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX dispositions_org ON dispositions(org_id, created_at, id);

-- A disposition's versions, 1, 2, …, never changed once written. `definition` is the
-- checked JSON `{name, description, tag_field, fields}` of
-- `parley_domain::dispositions::Disposition::to_value`; logs name the version that ran.
CREATE TABLE disposition_versions (
    disposition_id  TEXT NOT NULL REFERENCES dispositions(id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL,
    version         INTEGER NOT NULL,
    definition      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (disposition_id, version)
);
