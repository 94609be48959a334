//! The command line, flag for flag HAProxy's. HAProxy's single-dash
//! multi-letter flags (`-sf PID…`, `-db`, `-Ws`, `-dS`) are first rewritten
//! into long options, then clap parses them; `-sf $(cat pidfile)` takes
//! every following PID, as init scripts expect.

use clap::{ArgAction, Parser};
use std::path::PathBuf;

#[derive(Parser, Debug, Default, Clone)]
#[command(
    name = "rproxy",
    disable_help_flag = true,
    disable_version_flag = true,
    about = "A drop-in replacement for HAProxy"
)]
pub struct Cli {
    /// -f FILE|DIR: configuration file or directory (repeatable)
    #[arg(long = "config", action = ArgAction::Append)]
    pub config: Vec<PathBuf>,
    /// -c: check the configuration and exit (0 valid, 1 errors, 2 no listener)
    #[arg(long = "check")]
    pub check: bool,
    /// -cc COND: evaluate a `.if` condition and exit (0 true, 1 false, 2 error)
    #[arg(long = "check-condition")]
    pub check_condition: Option<String>,
    /// --modernize (with -c): print the configuration rewritten without 1.x syntax
    #[arg(long = "modernize")]
    pub modernize: bool,
    /// -q: quiet
    #[arg(long = "quiet")]
    pub quiet: bool,
    /// -V: verbose (cancels quiet)
    #[arg(long = "verbose")]
    pub verbose: bool,
    /// -v: version
    #[arg(long = "version")]
    pub version: bool,
    /// -vv: version and build options
    #[arg(long = "version-full")]
    pub version_full: bool,
    /// -D: daemon
    #[arg(long = "daemon")]
    pub daemon: bool,
    /// -db: stay in the foreground
    #[arg(long = "foreground")]
    pub foreground: bool,
    /// -d: debug mode (foreground, events printed)
    #[arg(long = "debug")]
    pub debug: bool,
    /// -p FILE: pidfile
    #[arg(long = "pidfile")]
    pub pidfile: Option<PathBuf>,
    /// -sf PID…: ask these processes to finish (SIGUSR1) once bound
    #[arg(long = "sf", num_args = 0.., action = ArgAction::Append)]
    pub soft_stop: Option<Vec<String>>,
    /// -st PID…: terminate these processes (SIGTERM) once bound
    #[arg(long = "st", num_args = 0.., action = ArgAction::Append)]
    pub hard_stop: Option<Vec<String>>,
    /// -W: master-worker mode
    #[arg(long = "master-worker")]
    pub master_worker: bool,
    /// -Ws: master-worker mode with systemd notification
    #[arg(long = "master-worker-systemd")]
    pub master_worker_systemd: bool,
    /// -S BIND[,opts]: master CLI socket
    #[arg(long = "master-cli", action = ArgAction::Append)]
    pub master_cli: Vec<String>,
    /// -x SOCKET: take listening sockets over from an old process
    #[arg(long = "takeover")]
    pub takeover: Option<String>,
    /// -L NAME: local peer name
    #[arg(long = "local-peer")]
    pub local_peer: Option<String>,
    /// -n N: global maxconn
    #[arg(long = "maxconn")]
    pub maxconn: Option<u32>,
    /// -N N: default per-proxy maxconn
    #[arg(long = "default-maxconn")]
    pub default_maxconn: Option<u32>,
    /// -m MB: memory limit
    #[arg(long = "memory")]
    pub memory: Option<u64>,
    /// -C DIR: change directory before loading files
    #[arg(long = "chdir")]
    pub chdir: Option<PathBuf>,
    /// -dK[class]: dump the keyword registry
    #[arg(long = "dump-keywords")]
    pub dump_keywords: Option<String>,
    /// -de: no epoll
    #[arg(long = "no-epoll")]
    pub no_epoll: bool,
    /// -dp: no poll
    #[arg(long = "no-poll")]
    pub no_poll: bool,
    /// -dk: no kqueue
    #[arg(long = "no-kqueue")]
    pub no_kqueue: bool,
    /// -dS: no splice
    #[arg(long = "no-splice")]
    pub no_splice: bool,
    /// -dG: no getaddrinfo
    #[arg(long = "no-getaddrinfo")]
    pub no_getaddrinfo: bool,
    /// -dR: no SO_REUSEPORT
    #[arg(long = "no-reuseport")]
    pub no_reuseport: bool,
    /// -dr: ignore server address resolution failures
    #[arg(long = "ignore-resolve-errors")]
    pub ignore_resolve_errors: bool,
    /// -dV: no server-side TLS verification
    #[arg(long = "no-ssl-verify")]
    pub no_ssl_verify: bool,
    /// -dW: warnings are fatal
    #[arg(long = "zero-warning")]
    pub zero_warning: bool,
    /// -dD: diagnostic mode
    #[arg(long = "diag")]
    pub diag: bool,
    /// -dL: dump loaded libraries
    #[arg(long = "dump-libs")]
    pub dump_libs: bool,
    /// -dM[…]: memory debugging
    #[arg(long = "memory-debug")]
    pub memory_debug: Option<String>,
    #[arg(long = "help", short = 'h')]
    pub help: bool,
}

/// A command line HAProxy would refuse: print usage, exit 1.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub Option<String>);

/// Rewrites HAProxy's flags into the long options `Cli` declares.
pub fn translate(args: &[String]) -> Result<Vec<String>, UsageError> {
    let mut out = vec![args.first().cloned().unwrap_or_else(|| "rproxy".into())];
    let mut i = 1;
    let value = |i: &mut usize, flag: &str| -> Result<String, UsageError> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| UsageError(Some(format!("'{flag}' expects an argument"))))
    };
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "--" => {
                for f in &args[i + 1..] {
                    out.push("--config".into());
                    out.push(f.clone());
                }
                break;
            }
            "--modernize" | "--help" | "-h" => {
                out.push(if a == "-h" { "--help".into() } else { a.into() })
            }
            "-f" => {
                let v = value(&mut i, a)?;
                out.extend(["--config".into(), v]);
            }
            "-c" => out.push("--check".into()),
            "-cc" => {
                let v = value(&mut i, a)?;
                out.extend(["--check-condition".into(), v]);
            }
            "-q" => out.push("--quiet".into()),
            "-V" => out.push("--verbose".into()),
            "-v" => out.push("--version".into()),
            "-vv" => out.push("--version-full".into()),
            "-D" => out.push("--daemon".into()),
            "-db" => out.push("--foreground".into()),
            "-d" => out.push("--debug".into()),
            "-W" => out.push("--master-worker".into()),
            "-Ws" => out.push("--master-worker-systemd".into()),
            "-p" | "-S" | "-x" | "-L" | "-n" | "-N" | "-m" | "-C" => {
                let v = value(&mut i, a)?;
                let long = match a {
                    "-p" => "--pidfile",
                    "-S" => "--master-cli",
                    "-x" => "--takeover",
                    "-L" => "--local-peer",
                    "-n" => "--maxconn",
                    "-N" => "--default-maxconn",
                    "-m" => "--memory",
                    _ => "--chdir",
                };
                out.extend([long.into(), v]);
            }
            "-sf" | "-st" => {
                out.push(if a == "-sf" {
                    "--sf".into()
                } else {
                    "--st".into()
                });
                while let Some(next) = args.get(i + 1) {
                    if next.starts_with('-') {
                        break;
                    }
                    i += 1;
                    out.push(check_pid(a, next)?);
                }
            }
            "-de" => out.push("--no-epoll".into()),
            "-dp" => out.push("--no-poll".into()),
            "-dk" => out.push("--no-kqueue".into()),
            "-dS" => out.push("--no-splice".into()),
            "-dG" => out.push("--no-getaddrinfo".into()),
            "-dR" => out.push("--no-reuseport".into()),
            "-dr" => out.push("--ignore-resolve-errors".into()),
            "-dV" => out.push("--no-ssl-verify".into()),
            "-dW" => out.push("--zero-warning".into()),
            "-dD" => out.push("--diag".into()),
            "-dL" => out.push("--dump-libs".into()),
            _ if a.starts_with("-dK") => {
                out.extend(["--dump-keywords".into(), a[3..].to_string()]);
            }
            _ if a.starts_with("-dM") => {
                out.extend(["--memory-debug".into(), a[3..].to_string()]);
            }
            // HAProxy takes any other -dX as -d.
            _ if a.starts_with("-d") => out.push("--debug".into()),
            _ => return Err(UsageError(None)),
        }
        i += 1;
    }
    Ok(out)
}

/// HAProxy refuses PIDs that are not positive numbers.
fn check_pid(flag: &str, s: &str) -> Result<String, UsageError> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits != s.len() {
        return Err(UsageError(Some(format!(
            "{flag} option: some bytes unconsumed in PID list {{{}}}",
            &s[digits..]
        ))));
    }
    match s.parse::<i64>() {
        Ok(n) if n > 0 => Ok(s.to_string()),
        _ => Err(UsageError(None)),
    }
}

/// Parses a full argv (program name first).
pub fn parse(args: &[String]) -> Result<Cli, UsageError> {
    let long = translate(args)?;
    Cli::try_parse_from(long).map_err(|e| UsageError(Some(e.to_string())))
}

impl Cli {
    /// PIDs given with `-sf`.
    pub fn soft_stop_pids(&self) -> Vec<i32> {
        pids(self.soft_stop.as_deref())
    }

    /// PIDs given with `-st`.
    pub fn hard_stop_pids(&self) -> Vec<i32> {
        pids(self.hard_stop.as_deref())
    }
}

fn pids(list: Option<&[String]>) -> Vec<i32> {
    list.unwrap_or(&[])
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect()
}

pub const USAGE: &str =
    "Usage : rproxy [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -n <maxconn> ] [ -N <maxpconn> ]
        [ -p <pidfile> ] [ -m <max megs> ] [ -C <dir> ] [-- <cfgfile>*]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -db only disables background mode.
        -V enters verbose mode (disables quiet mode)
        -D goes daemon ; -C changes to <dir> before loading files.
        -W master-worker mode.
        -Ws master-worker mode with systemd notify support.
        -q quiet mode : don't display messages
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit
        -n sets the maximum total # of connections (uses ulimit -n)
        -m limits the usable amount of memory (in MB)
        -N sets the default, per-proxy maximum # of connections (0)
        -L set local peer name (default to hostname)
        -p writes pids of all children to this file
        -de disables epoll() usage even when available
        -dp disables poll() usage even when available
        -dS disables splice usage (broken on old kernels)
        -dG disables getaddrinfo() usage
        -dR disables SO_REUSEPORT usage
        -dL dumps loaded object files after config checks
        -dK{class[,...]} dump registered keywords
        -dr ignores server address resolution failures
        -dV disables SSL verify on servers side
        -dW fails if any warning is emitted
        -dD diagnostic mode : warn about suspicious configuration statements
        -sf/-st [pid ]* finishes/terminates old pids.
        -x <unix_socket> get listening sockets from a unix socket
        -S <bind>[,<bind options>...] new master CLI
        --modernize (with -c) prints the configuration without removed 1.x syntax
";

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn init_script_reload_line() {
        let cli = parse(&argv(
            "rproxy -f /etc/haproxy/haproxy.cfg -p /run/h.pid -sf 12 34 56 -D",
        ))
        .unwrap();
        assert_eq!(cli.config, vec![PathBuf::from("/etc/haproxy/haproxy.cfg")]);
        assert_eq!(cli.soft_stop_pids(), vec![12, 34, 56]);
        assert!(cli.daemon);
        assert_eq!(cli.pidfile, Some(PathBuf::from("/run/h.pid")));
    }

    #[test]
    fn systemd_lines() {
        let cli = parse(&argv(
            "rproxy -Ws -f /etc/haproxy/haproxy.cfg -c -q -S /run/haproxy-master.sock",
        ))
        .unwrap();
        assert!(cli.master_worker_systemd && cli.check && cli.quiet);
        assert_eq!(cli.master_cli, vec!["/run/haproxy-master.sock"]);
    }

    #[test]
    fn empty_pid_list_and_double_dash() {
        let cli = parse(&argv("rproxy -sf -f a.cfg -- b.cfg c.cfg")).unwrap();
        assert!(cli.soft_stop.is_some());
        assert!(cli.soft_stop_pids().is_empty());
        assert_eq!(cli.config.len(), 3);
    }

    #[test]
    fn debug_flags() {
        let cli = parse(&argv("rproxy -db -dS -dR -dW -dKall -dX -c -f x")).unwrap();
        assert!(cli.foreground && cli.no_splice && cli.no_reuseport && cli.zero_warning);
        assert_eq!(cli.dump_keywords.as_deref(), Some("all"));
        assert!(cli.debug);
        let cli = parse(&argv(
            "rproxy -st 7 -x /run/x.sock -L p1 -n 100 -N 10 -m 64 -C /tmp -V -vv",
        ))
        .unwrap();
        assert_eq!(cli.hard_stop_pids(), vec![7]);
        assert_eq!(cli.maxconn, Some(100));
        assert!(cli.version_full && cli.verbose);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse(&argv("rproxy -sf abc")).unwrap_err(),
            UsageError(Some(
                "-sf option: some bytes unconsumed in PID list {abc}".into()
            ))
        );
        assert!(parse(&argv("rproxy -sf 0")).is_err());
        assert!(parse(&argv("rproxy -z")).is_err());
        assert!(parse(&argv("rproxy -f")).is_err());
    }
}
