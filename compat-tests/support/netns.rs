//! Network namespaces for topology tests: a client network, the load
//! balancer, the servers (198.18.0.0/15 addresses), with the TPROXY
//! plumbing the seed's transparent set-ups need. Everything a test builds
//! is removed when its guard drops, also when the test panics.

use std::fs::File;
use std::net::IpAddr;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique short tag for names (namespaces of parallel tests differ).
pub fn unique(tag: &str) -> String {
    format!(
        "rpx-{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{:?} failed: {}{}",
            args,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// One network namespace, deleted on drop.
pub struct Ns {
    pub name: String,
}

impl Ns {
    pub fn new(name: String) -> Ns {
        run(&["ip", "netns", "add", &name]);
        let ns = Ns { name };
        ns.sh("ip link set lo up");
        ns
    }

    /// Runs a command line inside the namespace (split on spaces).
    pub fn sh(&self, cmd: &str) -> Output {
        let mut args = vec!["ip", "netns", "exec", &self.name];
        args.extend(cmd.split_whitespace());
        run(&args)
    }

    /// Runs `f` on a thread that has entered the namespace: sockets it
    /// creates live there.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        self.spawn(f).join().expect("thread in namespace")
    }

    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            enter(&path);
            f()
        })
    }

    pub fn path(&self) -> String {
        format!("/var/run/netns/{}", self.name)
    }
}

/// Moves the calling thread into a namespace.
pub fn enter(path: &str) {
    let f = File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

impl Drop for Ns {
    fn drop(&mut self) {
        // Kill whatever still runs there, then remove it.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A veth pair between two namespaces, with an address on each end.
pub fn link(a: &Ns, a_if: &str, a_addr: &str, b: &Ns, b_if: &str, b_addr: &str) {
    run(&[
        "ip", "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
        &b.name,
    ]);
    for (ns, ifname, addr) in [(a, a_if, a_addr), (b, b_if, b_addr)] {
        if !addr.is_empty() {
            ns.sh(&format!("ip addr add {addr} dev {ifname}"));
        }
        ns.sh(&format!("ip link set {ifname} up"));
    }
}

/// The load balancer side of full transparency (transparent-proxy.md §3):
/// replies addressed to client IPs reach the local transparent sockets.
fn tproxy_plumbing(lb: &Ns) {
    lb.sh("sysctl -qw net.ipv4.ip_forward=1");
    lb.sh("iptables -t mangle -N DIVERT");
    lb.sh("iptables -t mangle -A PREROUTING -p tcp -m socket -j DIVERT");
    lb.sh("iptables -t mangle -A DIVERT -j MARK --set-mark 1");
    lb.sh("iptables -t mangle -A DIVERT -j ACCEPT");
    lb.sh("ip rule add fwmark 1 lookup 100");
    lb.sh("ip route add local 0.0.0.0/0 dev lo table 100");
}

/// Client, load balancer and servers, as the seed describes them.
pub struct Topology {
    pub client: Ns,
    pub lb: Ns,
    pub servers: Ns,
    pub router: Option<Ns>,
    pub client_ip: IpAddr,
    /// Where clients connect.
    pub vip: IpAddr,
    pub server_ips: Vec<IpAddr>,
}

impl Topology {
    /// Dual subnet: the load balancer has a leg in the clients' subnet
    /// (198.18.1.0/24) and one in the servers' (198.19.1.0/24); the servers'
    /// default route goes through it.
    pub fn dual_subnet(tag: &str) -> Topology {
        let client = Ns::new(unique(&format!("{tag}-c")));
        let lb = Ns::new(unique(&format!("{tag}-l")));
        let servers = Ns::new(unique(&format!("{tag}-s")));
        link(&client, "c0", "198.18.1.10/24", &lb, "l0", "198.18.1.1/24");
        link(&lb, "l1", "198.19.1.1/24", &servers, "s0", "198.19.1.10/24");
        servers.sh("ip addr add 198.19.1.11/24 dev s0");
        client.sh("ip route add default via 198.18.1.1");
        servers.sh("ip route add default via 198.19.1.1");
        tproxy_plumbing(&lb);
        Topology {
            client,
            lb,
            servers,
            router: None,
            client_ip: "198.18.1.10".parse().expect("ip"),
            vip: "198.18.1.1".parse().expect("ip"),
            server_ips: vec![
                "198.19.1.10".parse().expect("ip"),
                "198.19.1.11".parse().expect("ip"),
            ],
        }
    }

    /// Single subnet: load balancer and servers share 198.19.2.0/24 (one
    /// leg each, on a bridge); clients (198.18.2.0/24) arrive through a
    /// router; the servers' default gateway is the load balancer.
    pub fn single_subnet(tag: &str) -> Topology {
        let client = Ns::new(unique(&format!("{tag}-c")));
        let router = Ns::new(unique(&format!("{tag}-r")));
        let lb = Ns::new(unique(&format!("{tag}-l")));
        let servers = Ns::new(unique(&format!("{tag}-s")));
        link(
            &client,
            "c0",
            "198.18.2.10/24",
            &router,
            "r0",
            "198.18.2.254/24",
        );
        router.sh("ip link add br0 type bridge");
        router.sh("ip addr add 198.19.2.254/24 dev br0");
        router.sh("ip link set br0 up");
        link(&router, "r1", "", &lb, "l0", "198.19.2.1/24");
        link(&router, "r2", "", &servers, "s0", "198.19.2.10/24");
        router.sh("ip link set r1 master br0");
        router.sh("ip link set r2 master br0");
        router.sh("sysctl -qw net.ipv4.ip_forward=1");
        servers.sh("ip addr add 198.19.2.11/24 dev s0");
        client.sh("ip route add default via 198.18.2.254");
        lb.sh("ip route add default via 198.19.2.254");
        servers.sh("ip route add default via 198.19.2.1");
        tproxy_plumbing(&lb);
        Topology {
            client,
            lb,
            servers,
            router: Some(router),
            client_ip: "198.18.2.10".parse().expect("ip"),
            vip: "198.19.2.1".parse().expect("ip"),
            server_ips: vec![
                "198.19.2.10".parse().expect("ip"),
                "198.19.2.11".parse().expect("ip"),
            ],
        }
    }
}
