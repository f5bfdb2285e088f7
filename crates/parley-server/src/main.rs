use clap::Parser;

/// jemalloc is the whole process's `malloc` (the `unprefixed_malloc_on_supported_platforms`
/// feature), so SQLite's page caches and statements use it too. With glibc's malloc a
/// 1,000,000-row batch peaked at 181 MB of RSS against 80 MB at 100,000 rows, while the
/// live heap (heaptrack) stayed near 65 MB: glibc's per-thread arenas (a thread per SQLite
/// connection) kept what they once held. jemalloc's size classes and decay return it
/// (docs/BENCHMARKS.md, batches).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let cli = parley_server::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(parley_server::cli::run(cli))
}
