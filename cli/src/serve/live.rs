//! The server loop: a listener whose served artifact can be swapped while it runs (`faas dev`),
//! and running it until Ctrl-C or SIGTERM.

use super::*;

/// The artifact a listener serves, replaceable while it serves (`faas dev`): each request is
/// handled by the version current when it arrives, and keeps that version until it is answered,
/// so a reload drops neither the listener nor a request in flight.
pub struct Live {
    pub(super) current: std::sync::RwLock<Option<Arc<Server>>>,
    /// Versions replaced while requests may still run on them, interrupted on shutdown too.
    pub(super) retired: std::sync::Mutex<Vec<std::sync::Weak<Server>>>,
    /// The listener's own limits (connections, header timeout, drain).
    pub(super) limits: Limits,
}

impl Live {
    /// Nothing to serve yet: requests are answered 503 until [`Live::replace`] gives a version.
    pub fn empty(limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            current: std::sync::RwLock::new(None),
            retired: std::sync::Mutex::new(Vec::new()),
            limits,
        })
    }

    /// Serving `server`.
    pub fn with(server: Server) -> Arc<Self> {
        let live = Self::empty(server.limits.clone());
        live.replace(server);
        live
    }

    /// Serves `server` from the next request on.
    pub fn replace(&self, server: Server) {
        let previous = self
            .current
            .write()
            .expect("the lock is never poisoned")
            .replace(Arc::new(server));
        if let Some(previous) = previous {
            let mut retired = self.retired.lock().expect("the lock is never poisoned");
            retired.retain(|r| r.strong_count() > 0);
            retired.push(Arc::downgrade(&previous));
        }
    }

    pub(super) fn current(&self) -> Option<Arc<Server>> {
        self.current
            .read()
            .expect("the lock is never poisoned")
            .clone()
    }

    /// Interrupts every instance still running, on the current version and the retired ones.
    pub(super) fn interrupt_all(&self) {
        let retired = self.retired.lock().expect("the lock is never poisoned");
        for server in retired
            .iter()
            .filter_map(|r| r.upgrade())
            .chain(self.current())
        {
            server.interrupt.store(true, Ordering::Relaxed);
        }
    }

    /// As [`Server::serve`], each request on the version current when it arrives.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let limits = self.limits.clone();
        // Stay below the process's descriptor limit: a server with none left cannot accept.
        let connection_cap = match limits::open_files_limit() {
            Some(files) => limits.max_connections.min(files.saturating_sub(32).max(1)),
            None => limits.max_connections,
        };
        let connections = Arc::new(Semaphore::new(connection_cap));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut backoff = Duration::from_millis(5);
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                permit = connections.clone().acquire_owned() => permit?,
                () = &mut shutdown => break,
            };
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        backoff = Duration::from_millis(5);
                        // Answers are written as they are produced (a streamed body's last chunk
                        // on its own): without this, Nagle's algorithm holds that chunk until the
                        // client's delayed ACK, 40 ms later, on every keep-alive request.
                        let _ = stream.set_nodelay(true);
                        stream
                    }
                    Err(e) => {
                        // Out of descriptors, or a connection reset before it was accepted: say
                        // so, wait a little, and go on serving.
                        report::log(format!("faas serve: cannot accept a connection: {e}"));
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let live = self.clone();
            let mut stop = stop_rx.clone();
            let header_timeout = limits.header_timeout;
            tokio::spawn(async move {
                let _permit = permit;
                let service = hyper::service::service_fn(move |req| {
                    let server = live.current();
                    async move {
                        match server {
                            Some(server) => server.handle(req).await,
                            None => Ok(not_ready(&req)),
                        }
                    }
                });
                let connection = http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(connection);
                // A client that goes away mid-request is not the server's failure: nothing to do.
                tokio::select! {
                    _ = connection.as_mut() => {}
                    _ = stop.changed() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
            });
        }
        drop(listener);
        let _ = stop_tx.send(true);
        report::log("faas serve: stopping: no new connections; draining requests in flight");
        // Every connection holds a permit until it is done: all of them back means drained.
        let all = connection_cap as u32;
        let drained = tokio::time::timeout(limits.drain, connections.acquire_many(all)).await;
        if drained.is_err() {
            report::log(format!(
                "faas serve: requests still running after the {}s drain deadline: interrupting them",
                limits.drain.as_secs_f64()
            ));
            self.interrupt_all();
            let _ =
                tokio::time::timeout(Duration::from_secs(2), connections.acquire_many(all)).await;
        }
        Ok(())
    }
}

/// The answer while no version has been built yet (`faas dev` after a first failed build).
pub(super) fn not_ready(
    req: &hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<HyperOutgoingBody> {
    report::log(format!(
        "faas serve: {} {}: nothing to serve yet (no build has succeeded): 503",
        req.method(),
        logged_path(req.uri())
    ));
    error_response(hyper::StatusCode::SERVICE_UNAVAILABLE)
}

/// Binds `addr`, calls `on_ready` with the bound address, and serves until Ctrl-C or SIGTERM.
pub fn run(
    server: Server,
    addr: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    run_live(Live::with(server), addr, on_ready)
}

/// As [`run`], serving whatever version `live` holds.
pub fn run_live(
    live: Arc<Live>,
    addr: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let served: anyhow::Result<()> = runtime.block_on(async move {
        // The server's own signal handlers first, then the mark that keeps the process up for
        // them (`interrupt`): Ctrl-C drains the requests in flight instead of exiting.
        let stop = shutdown_signal()?;
        let _serving = crate::interrupt::ServingGuard::new();
        let listener = match TcpListener::bind(addr).await {
            Ok(listener) => listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => anyhow::bail!(
                "cannot listen on {addr}: the port is in use (another faas serve?); choose another \
                 with --addr, or --addr 127.0.0.1:0 for any free one"
            ),
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!("cannot listen on {addr}")));
            }
        };
        on_ready(listener.local_addr()?);
        live.serve(listener, stop).await
    });
    served?;
    // Interrupted instances end at their next epoch tick; do not wait on anything else.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// Resolves at Ctrl-C or SIGTERM; both handlers are in place when it returns.
pub(super) fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = term.recv() => {},
        }
    })
}
