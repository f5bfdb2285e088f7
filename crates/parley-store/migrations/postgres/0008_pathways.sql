-- Pathways (spec 8): per-org conversation graphs, their numbered versions, what is published
-- to each environment, and the text chat harness (`/v1/pathway/chat/*`). PostgreSQL flavour; the
-- SQLite file mirrors it statement for statement.

-- One row per pathway. `draft` is the working copy `POST /v1/pathway/{id}` edits: the JSON
-- object `{"nodes": [...], "edges": [...]}` exactly as the customer sent it.
-- `production_version` / `staging_version` name the version number published to each
-- environment (NULL: nothing published). `next_version` hands out version numbers, which are
-- never reused after a delete.
CREATE TABLE pathways (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs(id),
    name                TEXT NOT NULL,
    description         TEXT,
    draft               TEXT NOT NULL,
    production_version  BIGINT,
    staging_version     BIGINT,
    next_version        BIGINT NOT NULL DEFAULT 1,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX pathways_org ON pathways(org_id, created_at, id);

-- A numbered, named snapshot of a pathway's graph (same JSON shape as `draft`).
CREATE TABLE pathway_versions (
    id              TEXT PRIMARY KEY,
    pathway_id      TEXT NOT NULL REFERENCES pathways(id) ON DELETE CASCADE,
    version_number  BIGINT NOT NULL,
    name            TEXT NOT NULL,
    graph           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (pathway_id, version_number)
);

-- A test chat against a pathway. `pathway_version` is the selector it was created with
-- (NULL: production), resolved again on every message so edits show up at once.
-- `start_node_id` is where the chat opens instead of the start node (NULL: the start node).
-- `state` is the engine's `PathwayState` JSON; `history` is `[{role, content}]`, oldest
-- first.
CREATE TABLE pathway_chats (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs(id),
    pathway_id       TEXT NOT NULL REFERENCES pathways(id) ON DELETE CASCADE,
    pathway_version  TEXT,
    start_node_id    TEXT,
    state            TEXT NOT NULL,
    history          TEXT NOT NULL,
    completed        BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX pathway_chats_pathway ON pathway_chats(pathway_id);
