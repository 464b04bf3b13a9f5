//! The `playbook:host` interfaces: what WASI lacks, each call checked against the instance's [`Policy`].

use crate::bindings::playbook::host::{exec, system};
use crate::grants::Policy;
use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, format_err};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Most bytes kept of a command's stdout or stderr; the rest is dropped so one command cannot exhaust memory.
pub const OUTPUT_CAP: usize = 64 << 20;

/// The store data of one module instance.
pub struct HostState {
    /// WASI, with the granted preopens.
    pub wasi: WasiCtx,
    /// WASI's resources.
    pub table: ResourceTable,
    /// What the `playbook:host` calls may do.
    pub policy: Policy,
    /// Memory and instance limits.
    pub limits: StoreLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl HostState {
    fn require_system(&self) -> wasmtime::Result<()> {
        if self.policy.system {
            Ok(())
        } else {
            Err(format_err!(
                "module {} called playbook:host/system, which is not granted to it",
                self.policy.module
            ))
        }
    }
}

impl crate::bindings::playbook::module::types::Host for HostState {}

impl system::Host for HostState {
    fn uname(&mut self) -> wasmtime::Result<system::UnameInfo> {
        self.require_system()?;
        // SAFETY: uname only writes into the struct we hand it.
        let mut raw: libc::utsname = unsafe { std::mem::zeroed() };
        if unsafe { libc::uname(&mut raw) } != 0 {
            return Err(format_err!(
                "uname failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        let field = |chars: &[libc::c_char]| {
            // SAFETY: uname NUL-terminates each field within its array.
            unsafe { CStr::from_ptr(chars.as_ptr()) }
                .to_string_lossy()
                .into_owned()
        };
        Ok(system::UnameInfo {
            sysname: field(&raw.sysname),
            nodename: field(&raw.nodename),
            release: field(&raw.release),
            version: field(&raw.version),
            machine: field(&raw.machine),
        })
    }

    fn identity(&mut self) -> wasmtime::Result<system::UserInfo> {
        self.require_system()?;
        Ok(identity())
    }

    fn fqdn(&mut self) -> wasmtime::Result<String> {
        self.require_system()?;
        let node = self.uname()?.nodename;
        Ok(canonical_name(&node).unwrap_or(node))
    }

    fn interfaces(&mut self) -> wasmtime::Result<Vec<system::NetInterface>> {
        self.require_system()?;
        Ok(interfaces())
    }
}

impl exec::Host for HostState {
    fn run(&mut self, cmd: exec::Command) -> wasmtime::Result<Result<exec::Output, exec::Error>> {
        if !self.policy.exec {
            return Ok(Err(exec::Error::Denied(format!(
                "module {} may not run commands: playbook:host/exec is not granted to it{}",
                self.policy.module, " (it is never granted in check mode)"
            ))));
        }
        match run_command(cmd, &self.policy) {
            Err(Stopped::Error(e)) => Ok(Err(e)),
            Err(Stopped::TimedOut) => Err(wasmtime::Error::new(TimedOut)),
            Ok(output) => Ok(Ok(output)),
        }
    }
}

/// The task's deadline passed while a command ran: the module's call traps with this error.
#[derive(Debug)]
pub struct TimedOut;

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the task's time ran out while a command was running")
    }
}

impl std::error::Error for TimedOut {}

/// Why a command gave no output.
enum Stopped {
    Error(exec::Error),
    TimedOut,
}

impl From<exec::Error> for Stopped {
    fn from(e: exec::Error) -> Stopped {
        Stopped::Error(e)
    }
}

fn run_command(cmd: exec::Command, policy: &Policy) -> Result<exec::Output, Stopped> {
    let mut command = match &cmd.shell {
        Some(script) => {
            let mut c = Command::new("/bin/sh");
            c.arg("-c").arg(script);
            c
        }
        None => {
            let Some((program, args)) = cmd.argv.split_first() else {
                return Err(exec::Error::Spawn("empty command".into()).into());
            };
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    };
    if let Some(dir) = &cmd.cwd {
        // `~` as Python's expanduser takes it: `HOME`, else the user database.
        let dir = match dir.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                let home = std::env::var("HOME")
                    .ok()
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| identity().home);
                format!("{}{rest}", home.trim_end_matches('/'))
            }
            _ => dir.clone(),
        };
        command.current_dir(dir);
    }
    command.envs(policy.environment.iter().map(|(k, v)| (k, v)));
    // Its own session (so its own process group): a timeout kills what it started too
    // (`sh -c 'sleep 9'`), and under `su` (run through `script`) the child does not inherit the
    // pseudo-terminal that carries our session, so nothing it starts can read or write on it.
    // SAFETY: setsid(2) is async-signal-safe and touches no memory of ours.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // The runner's own stdin and stdout carry the session: a child must never inherit them.
    command
        .stdin(if cmd.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .map_err(|e| Stopped::Error(exec::Error::Spawn(spawn_message(&e))))?;
    let feeder = match (child.stdin.take(), cmd.stdin) {
        (Some(mut pipe), Some(bytes)) => Some(std::thread::spawn(move || {
            // A child that exits without reading its input is not an error of ours.
            let _ = pipe.write_all(&bytes);
        })),
        _ => None,
    };
    let stdout = child.stdout.take().map(capped_reader);
    let stderr = child.stderr.take().map(capped_reader);
    let status = match policy.deadline {
        None => child.wait(),
        Some(deadline) => loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if std::time::Instant::now() >= deadline => {
                    // SAFETY: kill(2) on the process group our setsid created; no memory is involved.
                    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                    let _ = child.wait();
                    return Err(Stopped::TimedOut);
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(10)),
                Err(e) => break Err(e),
            }
        },
    }
    .map_err(|e| exec::Error::Spawn(e.to_string()))?;
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    Ok(exec::Output {
        rc: status.code().unwrap_or(-1),
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn spawn_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}

fn capped_reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let room = OUTPUT_CAP.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                }
            }
        }
        kept
    })
}

fn identity() -> system::UserInfo {
    // SAFETY: plain getters without arguments.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let mut info = system::UserInfo {
        uid,
        gid,
        user: uid.to_string(),
        home: std::env::var("HOME").unwrap_or_default(),
        shell: String::new(),
    };
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r writes only into pwd and buf, whose sizes we pass.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc == 0 && !result.is_null() {
        let text = |p: *const libc::c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: the fields point into buf and are NUL-terminated by getpwuid_r.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        info.user = text(pwd.pw_name);
        info.home = text(pwd.pw_dir);
        info.shell = text(pwd.pw_shell);
    }
    info
}

/// The resolver's canonical name for `host`, as `hostname -f` finds it.
fn canonical_name(host: &str) -> Option<String> {
    let node = CString::new(host).ok()?;
    let hints = libc::addrinfo {
        ai_flags: libc::AI_CANONNAME,
        ai_family: libc::AF_UNSPEC,
        ai_socktype: libc::SOCK_STREAM,
        ai_protocol: 0,
        ai_addrlen: 0,
        ai_addr: std::ptr::null_mut(),
        ai_canonname: std::ptr::null_mut(),
        ai_next: std::ptr::null_mut(),
    };
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: valid NUL-terminated node, hints on our stack, result freed below.
    let rc = unsafe { libc::getaddrinfo(node.as_ptr(), std::ptr::null(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    // SAFETY: res is a valid list from getaddrinfo until freeaddrinfo.
    let name = unsafe {
        let canon = (*res).ai_canonname;
        let name = (!canon.is_null()).then(|| CStr::from_ptr(canon).to_string_lossy().into_owned());
        libc::freeaddrinfo(res);
        name
    };
    name.filter(|n| !n.is_empty())
}

fn interfaces() -> Vec<system::NetInterface> {
    let mut list: Vec<system::NetInterface> = Vec::new();
    let mut addrs: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs allocates the list, freed below.
    if unsafe { libc::getifaddrs(&mut addrs) } != 0 {
        return list;
    }
    let mut cursor = addrs;
    while !cursor.is_null() {
        // SAFETY: cursor walks the list getifaddrs returned.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_name.is_null() {
            continue;
        }
        // SAFETY: interface names are NUL-terminated.
        let name = unsafe { CStr::from_ptr(entry.ifa_name) }
            .to_string_lossy()
            .into_owned();
        let index = match list.iter().position(|i| i.name == name) {
            Some(i) => i,
            None => {
                list.push(system::NetInterface {
                    name,
                    ipv4: Vec::new(),
                    ipv6: Vec::new(),
                    mac: None,
                });
                list.len() - 1
            }
        };
        if entry.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr is a sockaddr whose family says which struct it is.
        let family = i32::from(unsafe { (*entry.ifa_addr).sa_family });
        let iface = &mut list[index];
        match family {
            libc::AF_INET => {
                let sa = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in) };
                let ip = std::net::Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr));
                iface.ipv4.push(ip.to_string());
            }
            libc::AF_INET6 => {
                let sa = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_in6) };
                iface
                    .ipv6
                    .push(std::net::Ipv6Addr::from(sa.sin6_addr.s6_addr).to_string());
            }
            libc::AF_PACKET => {
                let sa = unsafe { &*(entry.ifa_addr as *const libc::sockaddr_ll) };
                let len = usize::from(sa.sll_halen).min(sa.sll_addr.len());
                if len == 6 {
                    let mac: Vec<String> = sa.sll_addr[..len]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    iface.mac = Some(mac.join(":"));
                }
            }
            _ => {}
        }
    }
    // SAFETY: addrs came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(addrs) };
    list
}
