//! The `fapiao` binary: everything lives in the library; see `fapiao --help`.

fn main() -> std::process::ExitCode {
    fapiao::cli::run()
}
