//! The chat harness's chats (`/v1/pathway/chat/*`): a pathway, the version selector it was
//! created with, the engine state, and the transcript.

use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use super::decode_json;
use crate::{Result, Store};

#[derive(Debug, Clone, PartialEq)]
pub struct NewChat {
    pub id: String,
    pub org_id: String,
    pub pathway_id: String,
    /// The selector as the caller gave it; `None`: production.
    pub pathway_version: Option<String>,
    /// Where the chat opens; `None`: the pathway's start node.
    pub start_node_id: Option<String>,
    /// The engine's `PathwayState`, serialized.
    pub state: Value,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatRow {
    pub id: String,
    pub org_id: String,
    pub pathway_id: String,
    pub pathway_version: Option<String>,
    pub start_node_id: Option<String>,
    pub state: Value,
    /// `[{role, content}]`, oldest first.
    pub history: Value,
    pub completed: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

fn chat_row(r: &AnyRow) -> Result<ChatRow> {
    Ok(ChatRow {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        pathway_id: r.try_get("pathway_id")?,
        pathway_version: r.try_get("pathway_version")?,
        start_node_id: r.try_get("start_node_id")?,
        state: decode_json(&r.try_get::<String, _>("state")?, "a chat's state")?,
        history: decode_json(&r.try_get::<String, _>("history")?, "a chat's history")?,
        completed: r.try_get::<i64, _>("completed")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

impl Store {
    /// Stores a new chat with an empty transcript. The caller has checked that the org owns
    /// the pathway.
    pub async fn create_pathway_chat(&self, chat: &NewChat) -> Result<()> {
        sqlx::query(
            "INSERT INTO pathway_chats \
             (id, org_id, pathway_id, pathway_version, start_node_id, state, history, completed, \
              created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, '[]', 0, $7, $7)",
        )
        .bind(&chat.id)
        .bind(&chat.org_id)
        .bind(&chat.pathway_id)
        .bind(chat.pathway_version.as_deref())
        .bind(chat.start_node_id.as_deref())
        .bind(chat.state.to_string())
        .bind(chat.now)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// One of the org's chats; `None` when absent or another org's.
    pub async fn pathway_chat(&self, org_id: &str, id: &str) -> Result<Option<ChatRow>> {
        let row = sqlx::query(
            "SELECT id, org_id, pathway_id, pathway_version, start_node_id, state, history, completed, \
             created_at, updated_at FROM pathway_chats WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(chat_row).transpose()
    }

    /// Saves a chat after a turn. Returns whether the org still has it.
    pub async fn save_pathway_chat(
        &self,
        org_id: &str,
        id: &str,
        state: &Value,
        history: &Value,
        completed: bool,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE pathway_chats SET state = $3, history = $4, completed = $5, updated_at = $6 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(id)
        .bind(state.to_string())
        .bind(history.to_string())
        .bind(i64::from(completed))
        .bind(now)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() > 0)
    }
}
