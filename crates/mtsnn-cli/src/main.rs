//! `mtsnn`: the program; everything is in the library (`src/lib.rs`).

fn main() -> std::process::ExitCode {
    mtsnn_cli::main()
}
