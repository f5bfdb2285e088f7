//! Rolling upgrades: an older binary starts on a database that a newer one migrated.

use parley_store::Store;

use crate::{accepted, org_with_number, postgres, send, sqlite};

both_backends!(older_node_starts_after_a_newer_one_migrated);

/// A newer release's migration, as the older binary sees it: a row in `_sqlx_migrations`
/// with a version it does not know, and the additive change it made.
async fn older_node_starts_after_a_newer_one_migrated(s: &Store) {
    s.execute_raw("ALTER TABLE messages ADD COLUMN from_a_newer_release TEXT")
        .await
        .unwrap();
    let checksum = match s.dialect() {
        parley_store::Dialect::Sqlite => "X'00'",
        parley_store::Dialect::Postgres => "'\\x00'::bytea",
    };
    s.execute_raw(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from a newer release', TRUE, {checksum}, 0)"
    ))
    .await
    .unwrap();
    s.migrate()
        .await
        .expect("a node tolerates migrations newer than itself");
    // And it still works on the newer schema.
    org_with_number(s, "o1", "+15550000001", 10.0).await;
    let a = accepted(
        s.accept_send(&send("o1", "+15550000001", "+15551110001", "hi"))
            .await
            .unwrap(),
    );
    let msgs = s.conversation_messages(&a.conversation_id).await.unwrap();
    assert_eq!(msgs.len(), 1);
}
