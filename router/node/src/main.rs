//! The `i2p-router` binary; everything lives in the library (`i2p_router::cli`).

fn main() -> std::process::ExitCode {
    i2p_router::cli::main()
}
