use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = parley_server::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(parley_server::cli::run(cli))
}
