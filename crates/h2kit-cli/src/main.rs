//! The `h2kit` binary. Its subcommands (`serve`, `get`, `load`, `proxy`) arrive with the server,
//! client and load-generator work; until then it says so and exits non-zero.

fn main() {
    eprintln!("h2kit: no subcommands are implemented yet (serve, get, load and proxy are planned)");
    std::process::exit(2);
}
