//! The `printgate` binary: logging set-up and the command line. Logic lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PRINTGATE_LOG").unwrap_or_else(|_| "printgate=info".into());
    // PRINTGATE_LOG_FORMAT=json: one JSON object per line, for log shippers.
    if std::env::var("PRINTGATE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let cli = printgate::cli::Cli::parse();
    match printgate::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("printgate: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
