//! rproxy's own diagnostics, apart from HAProxy's messages and logs: with
//! `-d` (debug) or `-V` (verbose) in the foreground, what start-up and
//! reloads decided (listeners bound or taken over, threads, restored
//! server states, workers) is written to stderr by `tracing`, each line
//! tagged `rproxy:` so that nothing parses it as HAProxy output.

/// Installs the subscriber: DEBUG with `-d`, INFO with `-V`, none
/// otherwise (the macros then cost a relaxed load).
pub fn init(debug: bool, verbose: bool) {
    let level = if debug {
        tracing::Level::DEBUG
    } else if verbose {
        tracing::Level::INFO
    } else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .with_level(true)
        .event_format(
            tracing_subscriber::fmt::format()
                .with_target(false)
                .without_time()
                .compact(),
        )
        .try_init();
}
