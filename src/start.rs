//! Starting the proxies described by a configuration.

use crate::cli::Cli;

pub fn run(cli: Cli) -> i32 {
    let loaded = crate::config::load(&cli.config, crate::run::load_options(&cli));
    crate::run::print_diagnostics(&loaded.diags, cli.quiet && !cli.verbose);
    if loaded.verdict == crate::config::Verdict::Invalid {
        return 1;
    }
    eprintln!(
        "[ALERT]    ({}) : rproxy cannot serve traffic yet: the engine is not part of this build.",
        std::process::id()
    );
    1
}
