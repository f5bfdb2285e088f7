//! The suppression list: per org and agent number, idempotent, and read in bulk.

use parley_store::{Store, SuppressionReason};

use crate::{org_with_number, postgres, sqlite, T0};

both_backends!(suppression_is_per_org_and_agent_number);

const AGENT: &str = "+15550100000";
const OTHER_AGENT: &str = "+15550100001";

async fn suppression_is_per_org_and_agent_number(s: &Store) {
    org_with_number(s, "o1", AGENT, 10.0).await;
    s.create_org("o2", "o2", T0).await.unwrap();
    let (a, b) = ("+15551230001".to_owned(), "+15551230002".to_owned());

    assert!(s
        .suppress("o1", AGENT, &a, SuppressionReason::Keyword, T0)
        .await
        .unwrap());
    // A second opt-out changes nothing.
    assert!(!s
        .suppress("o1", AGENT, &a, SuppressionReason::Carrier, T0 + 1)
        .await
        .unwrap());

    assert!(s.is_suppressed("o1", AGENT, &a).await.unwrap());
    assert!(!s.is_suppressed("o1", AGENT, &b).await.unwrap());
    assert!(!s.is_suppressed("o1", OTHER_AGENT, &a).await.unwrap());
    assert!(!s.is_suppressed("o2", AGENT, &a).await.unwrap());

    // Bulk reads cross the 500-parameter chunk boundary and ignore numbers not listed.
    let mut many: Vec<String> = (0..1200).map(|i| format!("+1555999{i:04}")).collect();
    many.push(a.clone());
    s.suppress("o1", AGENT, &many[700], SuppressionReason::Keyword, T0)
        .await
        .unwrap();
    let found = s.suppressed_among("o1", AGENT, &many).await.unwrap();
    assert_eq!(found.len(), 2);
    assert!(found.contains(&a) && found.contains(&many[700]));
    assert!(s
        .suppressed_among("o1", AGENT, &[])
        .await
        .unwrap()
        .is_empty());

    assert!(s.unsuppress("o1", AGENT, &a).await.unwrap());
    assert!(!s.unsuppress("o1", AGENT, &a).await.unwrap());
    assert!(!s.is_suppressed("o1", AGENT, &a).await.unwrap());
}
