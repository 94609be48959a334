//! Small system helpers shared by the config checks and the process code.

use std::ffi::CString;

/// The text C's `strerror()` gives, as HAProxy prints it
/// ("No such file or directory").
pub fn io_error_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => nix::errno::Errno::from_raw(code).desc().to_string(),
        None => e.to_string(),
    }
}

/// Looks a user name up in the system database.
pub fn user_id(name: &str) -> Option<(u32, u32)> {
    let c = CString::new(name).ok()?;
    nix::unistd::User::from_name(c.to_str().ok()?)
        .ok()
        .flatten()
        .map(|u| (u.uid.as_raw(), u.gid.as_raw()))
}

pub fn group_id(name: &str) -> Option<u32> {
    nix::unistd::Group::from_name(name)
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw())
}

/// The machine's host name, for `log-send-hostname` and `node`.
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_string())
}
