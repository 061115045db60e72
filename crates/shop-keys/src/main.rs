//! `shop-keys`: the shop's keys outside the components.
//!
//!     shop-keys check                 # exit 1 naming each bad variable
//!     shop-keys generate [--kid KID]  # a new key pair, as `export` lines
//!
//! `check` reads the values `souk up` will pass to the components
//! (`SPIN_VARIABLE_<NAME>` in the environment) and checks them with the
//! components' own rules; scripts/up runs it before `souk up`, since a Spin
//! app has no start-up hook of its own. `generate` prints a fresh signing
//! key, its public-key entry and a rate-limit key, ready for `eval`.

mod check;
mod generate;

use std::process::ExitCode;

const USAGE: &str = "usage: shop-keys check | shop-keys generate [--kid KID]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["check"] => {
            let problems = check::check(|name| std::env::var(name).ok());
            for problem in &problems {
                eprintln!("shop-keys: {problem}");
            }
            if problems.is_empty() {
                eprintln!("shop-keys: the keys and the admin password are usable");
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        ["generate"] => print_generated(generate::DEFAULT_KID),
        ["generate", "--kid", kid] => print_generated(kid),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn print_generated(kid: &str) -> ExitCode {
    match generate::generate(kid) {
        Ok(lines) => {
            print!("{lines}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("shop-keys: {e}");
            ExitCode::FAILURE
        }
    }
}
