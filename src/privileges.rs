//! `chroot`, `user`/`uid`, `group`/`gid`: the process gives up root once
//! its sockets are bound, in HAProxy's order (chroot, then group, then
//! user), with HAProxy's refusal when a directive needs root for good.

use crate::config::model::Config;

/// The user and group ids the configuration asks for, resolved.
pub struct Target {
    pub uid: Option<nix::unistd::Uid>,
    pub gid: Option<nix::unistd::Gid>,
}

/// Resolves `user`/`group` names (HAProxy refuses unknown ones at
/// parse time; the lookup is repeated here as the system may have
/// changed).
pub fn target(cfg: &Config) -> Result<Target, String> {
    let g = &cfg.global;
    let uid = match (&g.user, g.uid) {
        (_, Some(u)) => Some(nix::unistd::Uid::from_raw(u)),
        (Some(name), None) => match nix::unistd::User::from_name(name) {
            Ok(Some(u)) => Some(u.uid),
            _ => return Err(format!("[rproxy.main()] Cannot find user '{name}'.")),
        },
        (None, None) => None,
    };
    let gid = match (&g.group, g.gid) {
        (_, Some(v)) => Some(nix::unistd::Gid::from_raw(v)),
        (Some(name), None) => match nix::unistd::Group::from_name(name) {
            Ok(Some(gr)) => Some(gr.gid),
            _ => return Err(format!("[rproxy.main()] Cannot find group '{name}'.")),
        },
        (None, None) => None,
    };
    Ok(Target { uid, gid })
}

/// HAProxy's start-up check: directives that need root for every new
/// connection (`usesrc`, `source … interface`) cannot run under another
/// user. Returns the warning HAProxy prints when not started as root.
pub fn check(t: &Target, needs_root: bool) -> Result<Option<String>, String> {
    if !needs_root {
        return Ok(None);
    }
    let changes_uid = t.uid.is_some_and(|u| !u.is_root());
    if !nix::unistd::geteuid().is_root() {
        return Ok(Some(
            "[rproxy.main()] Some options which require full privileges might not work well."
                .to_string(),
        ));
    }
    if changes_uid {
        return Err(
            "[rproxy.main()] Some configuration options require full privileges, so global.uid cannot be changed."
                .into(),
        );
    }
    Ok(None)
}

/// chroot, then setgid (dropping supplementary groups), then setuid.
pub fn drop(cfg: &Config, t: &Target) -> Result<(), String> {
    if let Some(dir) = &cfg.global.chroot {
        nix::unistd::chroot(dir.as_path())
            .and_then(|_| nix::unistd::chdir("/"))
            .map_err(|_| format!("[rproxy.main()] Cannot chroot({}).", dir.display()))?;
    }
    if let Some(gid) = t.gid {
        if nix::unistd::geteuid().is_root() {
            let _ = nix::unistd::setgroups(&[gid]);
        }
        nix::unistd::setgid(gid).map_err(|_| format!("[rproxy.main()] Cannot set gid {gid}."))?;
    }
    if let Some(uid) = t.uid {
        nix::unistd::setuid(uid).map_err(|_| format!("[rproxy.main()] Cannot set uid {uid}."))?;
    }
    Ok(())
}
