-- Citation schemas (spec 3): what to extract from a conversation when it ends, per org.
-- SQLite flavour; the PostgreSQL file mirrors it statement for statement.

-- `schema` is the JSON object as the caller sent it (`variables`, `groupings`,
-- `conditions`, Parley's `source` on a variable, and any key Parley does not use), checked
-- by `parley_domain::citations::CitationSchema::parse` before it is stored.
CREATE TABLE citation_schemas (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    name         TEXT NOT NULL,
    description  TEXT,
    schema       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX citation_schemas_org ON citation_schemas(org_id, created_at, id);

-- The conversation's extracted citation variables (JSON object, name -> value), merged by
-- backfill and by end-of-conversation extraction; NULL until something was extracted.
ALTER TABLE conversations ADD COLUMN citation_variables TEXT;
