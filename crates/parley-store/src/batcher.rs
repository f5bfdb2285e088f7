//! Group commit for sends on SQLite.
//!
//! SQLite has one writer. With a transaction per request, throughput is bounded by the cost
//! of a commit (WAL frames for every page the send touched, per request). The batcher takes
//! the sends that are waiting, runs them in a single transaction (runs of plain sends as
//! multi-row statements, see `conversations::bulk`) and commits once; every caller is
//! answered only after that commit, so a 200 still means durable. Sends never need a savepoint: `accept_in` decides every non-`Accepted` outcome
//! before writing. If a statement fails, the whole batch rolls back and each send is
//! retried alone, so one bad request cannot fail its neighbours.

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use crate::{
    conversations::{accept_alone, accept_in, bulk},
    Result, SendOutcome, SendRequest, StoreError,
};

/// Most sends in one transaction: enough to amortise the commit, small enough that the
/// first caller in a batch does not wait long for the last.
const MAX_BATCH: usize = 256;

struct Pending {
    req: SendRequest,
    reply: oneshot::Sender<Result<SendOutcome>>,
}

#[derive(Clone)]
pub(crate) struct SendBatcher {
    queue: mpsc::Sender<Pending>,
}

impl SendBatcher {
    pub(crate) fn spawn(pool: AnyPool) -> Self {
        let (queue, rx) = mpsc::channel(MAX_BATCH * 8);
        tokio::spawn(run(pool, rx));
        Self { queue }
    }

    pub(crate) async fn submit(&self, req: SendRequest) -> Result<SendOutcome> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Unavailable("the write batcher has stopped".into());
        self.queue
            .send(Pending { req, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn run(pool: AnyPool, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let pending = std::mem::take(&mut batch);
        match together(&pool, &pending).await {
            Ok(outcomes) => {
                for (p, outcome) in pending.into_iter().zip(outcomes) {
                    let _ = p.reply.send(Ok(outcome));
                }
            }
            Err(e) if pending.len() == 1 => {
                let p = pending.into_iter().next().expect("one pending send");
                let _ = p.reply.send(Err(e));
            }
            Err(e) => {
                tracing::warn!(error = %e, sends = pending.len(), "batched send failed; retrying each alone");
                for p in pending {
                    let _ = p.reply.send(accept_alone(&pool, &p.req).await);
                }
            }
        }
    }
}

/// Runs the batch in arrival order: runs of plain sends on distinct pairs as multi-row
/// statements (`bulk`), every other send alone, all in one transaction.
async fn together(pool: &AnyPool, pending: &[Pending]) -> Result<Vec<SendOutcome>> {
    let reqs: Vec<&SendRequest> = pending.iter().map(|p| &p.req).collect();
    let mut tx = pool.begin().await?;
    let mut outcomes = Vec::with_capacity(pending.len());
    for run in bulk::runs(&reqs) {
        if run.len() == 1 {
            outcomes.push(accept_in(&mut tx, reqs[run.start]).await?);
        } else {
            outcomes.extend(bulk::accept_run(&mut tx, &reqs[run]).await?);
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}
