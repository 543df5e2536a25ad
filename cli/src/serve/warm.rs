//! Warm instances (`faas serve --pool-size N`): WASI 0.3 artifacts served the way wasmCloud's host
//! serves a component with `poolSize`, so that what a reused instance keeps, and what it costs
//! or saves, shows here before it shows on the platform.
//!
//! Each of the N slots owns one long-lived store running [`wasmtime::Store::run_concurrent`]; its
//! calls arrive on a channel and are served one at a time (the host's default `max_concurrency`
//! of 1), the slot taken until the response body has gone to the client. A request that finds
//! every slot taken is served from a fresh instance, as without the option. A call that traps,
//! fails in the host or runs past the timeout retires its instance (a guest's work cannot be
//! cancelled from the host: dropping the store is what ends it), and the slot's next call gets a
//! new one. Tasks a call spawned and did not finish keep running on the instance, as on the host.
//!
//! WASI 0.2 artifacts are always served fresh, as the host does with them.

use super::{Finishing, RequestState, Server};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use wasmtime::component::Accessor;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p3::bindings::{Service, ServicePre};

/// A request as a slot takes it: the body boxed, so that one channel carries every kind.
pub type Incoming = hyper::Request<UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>>;

/// The response head (or the artifact's error code), sent as soon as the artifact has one.
pub type Head = Result<hyper::Response<HyperOutgoingBody>, ErrorCode>;

/// The warm slots of one served artifact version.
pub struct Pool {
    slots: Vec<Slot>,
}

/// One warm instance's queue. The driver task is started on the slot's first call.
struct Slot {
    busy: Arc<AtomicBool>,
    jobs: std::sync::Mutex<Option<mpsc::UnboundedSender<Job>>>,
}

/// One call handed to a slot.
struct Job {
    request: Incoming,
    head: oneshot::Sender<Head>,
    /// Why the call ended without a response: its trap, its host error, the deadline.
    failure: oneshot::Sender<wasmtime::Error>,
    /// Given back when the call is over, response body included.
    _taken: Taken,
    _permit: OwnedSemaphorePermit,
}

/// A slot taken for one call; dropping it frees the slot, however the call ended.
pub struct Taken(Arc<AtomicBool>);

impl Drop for Taken {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A call given to a warm instance: what the caller waits on.
pub struct Pending {
    pub head: oneshot::Receiver<Head>,
    pub failure: oneshot::Receiver<wasmtime::Error>,
}

impl Pool {
    /// `size` slots, none instantiated yet.
    pub fn new(size: usize) -> Self {
        Self {
            slots: (0..size)
                .map(|_| Slot {
                    busy: Arc::new(AtomicBool::new(false)),
                    jobs: std::sync::Mutex::new(None),
                })
                .collect(),
        }
    }

    /// Gives `request` to a free slot, or hands it back when every slot is taken. `server` is
    /// the version the slot's instances are made from (without its pool: a driver must not keep
    /// the pool that owns it alive).
    pub fn offer(
        &self,
        server: &Server,
        pre: &ServicePre<RequestState>,
        request: Incoming,
        permit: OwnedSemaphorePermit,
    ) -> Result<Pending, Box<(Incoming, OwnedSemaphorePermit)>> {
        let Some(slot) = self.slots.iter().find(|slot| {
            slot.busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }) else {
            return Err(Box::new((request, permit)));
        };
        let (head_tx, head) = oneshot::channel();
        let (failure_tx, failure) = oneshot::channel();
        let job = Job {
            request,
            head: head_tx,
            failure: failure_tx,
            _taken: Taken(slot.busy.clone()),
            _permit: permit,
        };
        let mut jobs = slot.jobs.lock().expect("the lock is never poisoned");
        let sender = jobs.get_or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(drive(server.without_pool(), pre.clone(), rx));
            tx
        });
        if let Err(mpsc::error::SendError(job)) = sender.send(job) {
            // The driver ended (its task panicked): start another for this call.
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(drive(server.without_pool(), pre.clone(), rx));
            let _ = tx.send(job);
            *jobs = Some(tx);
        }
        Ok(Pending { head, failure })
    }
}

/// One slot's driver: makes an instance when a call comes, serves calls on it until one fails,
/// then makes the next. Ends when the pool (the version served) is dropped.
async fn drive(
    server: Server,
    pre: ServicePre<RequestState>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(first) = jobs.recv().await {
        let mut store = server.warm_store();
        let service = match pre.instantiate_async(&mut store).await {
            Ok(service) => service,
            Err(e) => {
                let _ = first.failure.send(e);
                continue;
            }
        };
        // The failure channel of the call in hand, outside the store's run: a trap ends the run
        // and drops the call, and its caller is still owed the reason.
        let mut in_hand: Option<oneshot::Sender<wasmtime::Error>> = None;
        let timeout = server.limits.timeout;
        let run = store
            .run_concurrent(async |store| {
                let mut job = first;
                loop {
                    let Job {
                        request,
                        head,
                        failure,
                        _taken,
                        _permit,
                    } = job;
                    in_hand = Some(failure);
                    let serving = answer(store, &service, request, head, Some(_taken));
                    match tokio::time::timeout(timeout, serving).await {
                        Ok(Ok(())) => in_hand = None,
                        Ok(Err(e)) => return Err(e),
                        Err(_) => return Err(super::Interrupted::Deadline(timeout).into()),
                    }
                    job = match jobs.recv().await {
                        Some(job) => job,
                        None => return Ok(()),
                    };
                }
            })
            .await;
        match run.and_then(|ended| ended) {
            Ok(()) => return,
            // Retired: the store and whatever the call left running go with it.
            Err(e) => {
                if let Some(failure) = in_hand.take() {
                    let _ = failure.send(e);
                }
            }
        }
    }
}

/// Serves `request` on an instance running in `store`: sends the response head on `head` and
/// returns once the client has the whole body (or has gone). Shared by fresh and warm instances;
/// a warm one's `slot` is given back as soon as the body has been handed to the connection, so
/// that the client's next request finds it free.
pub async fn answer(
    store: &Accessor<RequestState>,
    service: &Service,
    request: Incoming,
    head: oneshot::Sender<Head>,
    slot: Option<Taken>,
) -> wasmtime::Result<()> {
    use wasmtime_wasi_http::p3::Request;
    let request = store.with(|mut s| Request::from_http(&mut s.get().hooks, request).0);
    let response = match service.handle(store, request).await? {
        Ok(response) => response,
        Err(code) => {
            let _ = head.send(Err(code));
            return Ok(());
        }
    };
    let response = store.with(|s| response.into_http(s, async { Ok(()) }))?;
    let (finished_tx, finished_rx) = oneshot::channel::<()>();
    let response = response.map(|body| {
        Finishing {
            body,
            _finished: finished_tx,
            _slot: slot,
        }
        .boxed_unsync()
    });
    if head.send(Ok(response)).is_ok() {
        // The body is read from the guest's stream by this store's tasks.
        let _ = finished_rx.await;
    }
    Ok(())
}
