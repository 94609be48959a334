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

/// HAProxy's start-up check for directives that need privileges on every
/// new connection (`usesrc`, `source … interface`, `bind … transparent`):
/// HAProxy 2.6 refuses to change the user then; rproxy changes it and
/// keeps only CAP_NET_ADMIN and CAP_NET_RAW (as later HAProxy's `setcap`
/// does). Returns the warning HAProxy prints when not started as root.
pub fn check(needs_root: bool) -> Option<String> {
    if needs_root && !nix::unistd::geteuid().is_root() {
        return Some(
            "[rproxy.main()] Some options which require full privileges might not work well."
                .to_string(),
        );
    }
    None
}

const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;

/// Keeps CAP_NET_ADMIN and CAP_NET_RAW, permitted and effective, and
/// nothing else.
fn keep_net_caps() -> Result<(), String> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let bits = (1u32 << CAP_NET_ADMIN) | (1u32 << CAP_NET_RAW);
    let mut header = Header {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [
        Data {
            effective: bits,
            permitted: bits,
            inheritable: 0,
        },
        Data {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        },
    ];
    // SAFETY: capset(2) reads a version-3 header and two data structs,
    // both alive for the call.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if r != 0 {
        return Err(format!(
            "[rproxy.main()] Cannot keep CAP_NET_ADMIN after changing user: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// chroot, then setgid (dropping supplementary groups), then setuid;
/// with `keep_net`, CAP_NET_ADMIN/CAP_NET_RAW survive the change of user.
pub fn drop(cfg: &Config, t: &Target, keep_net: bool) -> Result<(), String> {
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
        let keep = keep_net && !uid.is_root() && nix::unistd::geteuid().is_root();
        if keep {
            // SAFETY: prctl(PR_SET_KEEPCAPS) takes plain integers.
            unsafe {
                libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0);
            }
        }
        nix::unistd::setuid(uid).map_err(|_| format!("[rproxy.main()] Cannot set uid {uid}."))?;
        if keep {
            keep_net_caps()?;
        }
    }
    Ok(())
}
