//! `rproxy`: HAProxy's command line, HAProxy's behaviour.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    std::process::exit(rproxy::run::main(args));
}
