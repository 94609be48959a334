//! Top-level commands: what `rproxy` does with its command line.

use crate::cli::{self, Cli};
use crate::config::{self, LoadOptions, Verdict};
use crate::diag::{Diagnostic, Diagnostics, Severity};
use std::io::Write;

pub fn main(args: Vec<String>) -> i32 {
    if args.len() <= 1 {
        usage(None);
        return 1;
    }
    let cli = match cli::parse(&args) {
        Ok(c) => c,
        Err(cli::UsageError(msg)) => {
            usage(msg.as_deref());
            return 1;
        }
    };
    if cli.help {
        print!("{}", cli::USAGE);
        return 0;
    }
    if cli.version || cli.version_full {
        print!("{}", version_text(cli.version_full));
        return 0;
    }
    if let Some(dir) = &cli.chdir
        && let Err(e) = std::env::set_current_dir(dir)
    {
        eprintln!(
            "[ALERT]    ({}) : Cannot chdir to {} : {}",
            std::process::id(),
            dir.display(),
            crate::util::io_error_text(&e)
        );
        return 1;
    }
    if cli.dump_keywords.is_some() {
        print!("{}", config::keywords::dump());
        return 0;
    }
    if let Some(cond) = &cli.check_condition {
        return check_condition(cond);
    }
    if cli.config.is_empty() {
        usage(None);
        return 1;
    }
    if cli.check {
        return check_mode(&cli);
    }
    if (cli.master_worker || cli.master_worker_systemd) && !crate::master::is_worker() {
        return crate::master::run(&cli, &args);
    }
    crate::start::run(cli)
}

fn usage(msg: Option<&str>) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}", version_text(false));
    let _ = write!(err, "{}", cli::USAGE);
    if let Some(m) = msg {
        let _ = writeln!(err, "[ALERT]    ({}) : {m}", std::process::id());
    }
}

fn version_text(full: bool) -> String {
    let mut s = format!(
        "rproxy version {} (HAProxy {} compatible)\n",
        crate::VERSION,
        crate::HAPROXY_VERSION
    );
    if full {
        s.push_str("Build options : rust, tokio engine, splice, IP_TRANSPARENT\n\n");
        s.push_str("Feature list :");
        for f in crate::FEATURES {
            s.push_str(" +");
            s.push_str(f);
        }
        s.push_str(" -OPENSSL -LUA -QUIC -PCRE2\n\n");
        s.push_str("Default settings :\n  bufsize = 16384, maxrewrite = 1024\n\n");
        s.push_str("Built with transparent proxy support using: IP_TRANSPARENT IPV6_TRANSPARENT IP_FREEBIND\n");
    }
    s
}

/// `-cc COND`: 0 true, 1 false, 2 error.
fn check_condition(cond: &str) -> i32 {
    struct Ctx;
    impl config::cond::CondContext for Ctx {
        fn env_defined(&self, name: &str) -> bool {
            std::env::var_os(name).is_some()
        }
        fn has_feature(&self, name: &str) -> bool {
            crate::FEATURES.contains(&name)
        }
        fn version(&self) -> &str {
            crate::HAPROXY_VERSION
        }
    }
    match config::cond::evaluate(cond, &Ctx) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!(
                "[ALERT]    ({}) : config : Failed to evaluate condition: {}",
                std::process::id(),
                e.message
            );
            2
        }
    }
}

/// Load options from the command line.
pub fn load_options(cli: &Cli) -> LoadOptions {
    LoadOptions {
        diag_mode: cli.diag,
        ..LoadOptions::default()
    }
}

/// Prints diagnostics as HAProxy does on stderr: the version notice pair
/// before the first warning or alert, then each message.
pub fn print_diagnostics(diags: &Diagnostics, quiet: bool) {
    if quiet {
        return;
    }
    let pid = std::process::id();
    let mut err = std::io::stderr().lock();
    // The notice pair is printed once per process, however many batches.
    static ANNOUNCED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let mut announced = ANNOUNCED.load(std::sync::atomic::Ordering::Relaxed);
    for d in diags.iter() {
        if !announced && d.severity >= Severity::Warning {
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| "rproxy".into());
            let _ = write!(
                err,
                "{}{}",
                Diagnostic::notice(
                    None,
                    format!(
                        "rproxy version is {} (HAProxy {} compatible)",
                        crate::VERSION,
                        crate::HAPROXY_VERSION
                    )
                )
                .context("")
                .render(pid),
                Diagnostic::notice(None, format!("path to executable is {exe}"))
                    .context("")
                    .render(pid)
            );
            announced = true;
            ANNOUNCED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = err.write_all(d.render(pid).as_bytes());
    }
}

/// `-c`: HAProxy's verdict, messages and exit code.
fn check_mode(cli: &Cli) -> i32 {
    let loaded = config::load(&cli.config, load_options(cli));
    let quiet = (cli.quiet || loaded.config.global.quiet) && !cli.verbose;
    let mut diags = loaded.diags;
    let mut verdict = loaded.verdict;
    if verdict != Verdict::Invalid {
        for (origin, what) in crate::start::unevaluable_access_rules(&loaded.config) {
            diags.push(
                Diagnostic::warning(
                    Some(origin),
                    format!(
                        "this access-control rule reads {what}, which rproxy cannot evaluate yet; rproxy will refuse to start with this configuration."
                    ),
                )
                .rproxy_only(),
            );
        }
    }
    let zero_warning = cli.zero_warning || loaded.config.global.zero_warning;
    if verdict != Verdict::Invalid && zero_warning && diags.has_haproxy_warnings() {
        diags.push(Diagnostic::alert(
            None,
            "Some warnings were found and 'zero-warning' is set. Aborting.",
        ));
        verdict = Verdict::Invalid;
    }
    print_diagnostics(&diags, quiet);
    if cli.modernize && verdict != Verdict::Invalid {
        match config::modernize::rewrite_files(&cli.config) {
            Ok(text) => print!("{text}"),
            Err(e) => {
                eprintln!("[ALERT]    ({}) : {e}", std::process::id());
                return 1;
            }
        }
        return verdict.exit_code();
    }
    if !quiet {
        if diags.has_warnings() && verdict != Verdict::Invalid {
            println!("Warnings were found.");
        }
        match verdict {
            Verdict::Valid => println!("Configuration file is valid"),
            Verdict::NoListener => println!(
                "Configuration file has no error but will not start (no listener) => exit(2)."
            ),
            Verdict::Invalid => {}
        }
    }
    verdict.exit_code()
}
