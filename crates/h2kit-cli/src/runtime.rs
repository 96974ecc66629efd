//! The tokio runtime for a subcommand.

/// `--threads`: none means one worker per core; 1 means a current-thread runtime (no
/// work-stealing machinery: the right choice when the process is pinned to one CPU).
pub fn build(threads: Option<usize>) -> Result<tokio::runtime::Runtime, String> {
    build_with(threads, None)
}

/// The load generator's runtime for a closed loop (as fast as it can). Its tasks are many and
/// alike (one per stream in flight), and tokio's default of checking the sockets every 61 task
/// polls cost an `epoll_wait` per ~60 requests; every 512 polls measured 2–8% more requests
/// per second at `-c10 -m100` (1,000 tasks). An open loop (`--rate`) keeps the default, as
/// does a server: there a socket's readiness is someone waiting, and a late look at it would
/// show up in the latencies measured.
pub fn build_for_load(
    threads: Option<usize>,
    closed_loop: bool,
) -> Result<tokio::runtime::Runtime, String> {
    build_with(threads, closed_loop.then_some(512))
}

fn build_with(
    threads: Option<usize>,
    event_interval: Option<u32>,
) -> Result<tokio::runtime::Runtime, String> {
    let mut b = match threads {
        Some(0) => return Err("--threads must be at least 1".into()),
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(n) = event_interval {
        b.event_interval(n);
    }
    b.enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
