use clap::Parser;

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    let cli = parley_server::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(parley_server::cli::run(cli))
}

/// glibc gives each thread that contends for the heap an arena of its own, up to eight per
/// core, and keeps what an arena once held. Parley runs a thread per SQLite connection
/// besides tokio's workers; heap profiles (heaptrack) of a large batch show a live heap
/// bounded by SQLite's page caches, yet with the default arenas a 1,000,000-row batch
/// peaked at 287 MB of RSS, and at 165 MB with two (docs/BENCHMARKS.md, batches). An
/// operator's own `MALLOC_ARENA_MAX` wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator tunable; it is called before any other
        // thread exists, as glibc requires for M_ARENA_MAX to apply to all of them.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
