-- Personas (spec 5): reusable agent configurations, their versions, and the numbers they
-- answer on. SQLite flavour; the PostgreSQL file mirrors it statement for statement.

-- Persona-level fields that apply at once (not versioned). `tags` is a JSON array.
CREATE TABLE personas (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    role         TEXT,
    description  TEXT,
    tags         TEXT NOT NULL DEFAULT '[]',
    image_url    TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX personas_org ON personas(org_id, created_at, id);

-- A persona's versions. `config` is the JSON object of the versioned fields
-- (`orchestration_prompt`, `personality_prompt`, `pathway_conditions`, `kb_ids`,
-- `call_config`, `default_tools`, and any field Parley does not know, kept as sent).
-- Pathway ids inside it are plain strings: no foreign key to pathways.
-- Exactly one production and one draft per persona; former productions are archived.
CREATE TABLE persona_versions (
    id                        TEXT PRIMARY KEY,
    persona_id                TEXT NOT NULL REFERENCES personas(id) ON DELETE CASCADE,
    org_id                    TEXT NOT NULL,
    version_type              TEXT NOT NULL,
    version_number            INTEGER NOT NULL,
    config                    TEXT NOT NULL,
    promoted_from_version_id  TEXT,
    promoted_at               INTEGER,
    promoted_by               TEXT,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    UNIQUE (persona_id, version_number)
);
CREATE UNIQUE INDEX persona_versions_one_production ON persona_versions(persona_id) WHERE version_type = 'production';
CREATE UNIQUE INDEX persona_versions_one_draft ON persona_versions(persona_id) WHERE version_type = 'draft';

-- A number answered by a persona (`/v1/personas/{id}/inbound/attach`): at most one persona
-- per number. `persona_settings` is the number's pathway override (JSON object or NULL);
-- `persona_version` is `production` unless the number was set to try the draft.
CREATE TABLE persona_numbers (
    number_id         INTEGER PRIMARY KEY REFERENCES numbers(id) ON DELETE CASCADE,
    org_id            TEXT NOT NULL,
    persona_id        TEXT NOT NULL REFERENCES personas(id),
    persona_version   TEXT NOT NULL DEFAULT 'production',
    persona_settings  TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX persona_numbers_persona ON persona_numbers(persona_id, number_id);
