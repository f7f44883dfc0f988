//! The `metaclaw` command: `serve` runs the engine headless; the other subcommands talk to a
//! running engine through its admin API.

mod cli;

// The proxy allocates and frees many small buffers across threads; mimalloc handles that
// pattern markedly better than the system allocator (see the benchmark in the README). It is
// built without transparent huge pages, which otherwise add ~12 MB of resident memory at idle.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
