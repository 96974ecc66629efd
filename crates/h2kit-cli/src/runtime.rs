//! The tokio runtime for a subcommand.

/// `--threads`: none means one worker per core; 1 means a current-thread runtime (no
/// work-stealing machinery: the right choice when the process is pinned to one CPU).
pub fn build(threads: Option<usize>) -> Result<tokio::runtime::Runtime, String> {
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
    b.enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
