//! The lab the end-to-end tests run in: real users, real `sshd` processes on 127.0.0.x with their own host
//! keys, and a `TestRun` builder that runs the real `playbook` binary as a given user.
//!
//! Set up once per test binary (it needs root: it creates users and starts sshd). Users:
//! - `pbctl`: runs the controller; its key is authorized for `pbkey`.
//! - `pbkey`: key-only login.
//! - `pbpass`: password-only login ([`PASSWORD`]); also runs the literal example as itself.
//! - `pbnohome`: password login whose home does not exist.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The test-only password of `pbpass` and `pbnohome`.
pub const PASSWORD: &str = "pb-Secret-4711";
/// Where the lab lives.
pub const LAB: &str = "/tmp/playbook-e2e";
/// The sshd port of the group hosts.
pub const PORT: u16 = 2222;
/// The addresses of the hosts with an sshd; 127.0.0.1 listens on port 22 for the literal example.
pub const HOSTS: [&str; 3] = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
/// A host used only by the test of the second run, so that no other test's connections count there.
pub const REUSE_HOST: &str = "127.0.0.5";
/// An address where nothing listens.
pub const DEAD_HOST: &str = "127.0.0.9";

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "set-up command failed: {cmd}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A local user of the lab.
#[derive(Debug, Clone)]
pub struct User {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The lab, set up once.
#[derive(Debug)]
pub struct Lab {
    pub ctl: User,
    pub key: User,
    pub pass: User,
    pub nohome: User,
}

fn user(name: &'static str, home: Option<&str>) -> User {
    if !Command::new("id")
        .arg(name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        match home {
            Some(home) => sh(&format!("useradd -M -d {home} -s /bin/sh {name}")),
            None => sh(&format!("useradd -m -s /bin/sh {name}")),
        };
    }
    let uid: u32 = sh(&format!("id -u {name}")).trim().parse().expect("uid");
    let gid: u32 = sh(&format!("id -g {name}")).trim().parse().expect("gid");
    let home = sh(&format!("getent passwd {name} | cut -d: -f6"))
        .trim()
        .to_string();
    User {
        name,
        uid,
        gid,
        home: PathBuf::from(home),
    }
}

impl Lab {
    /// The lab, set up on first use.
    pub fn get() -> &'static Lab {
        static LAB_ONCE: OnceLock<Lab> = OnceLock::new();
        LAB_ONCE.get_or_init(Lab::setup)
    }

    fn setup() -> Lab {
        // SAFETY: geteuid has no arguments and cannot fail.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            euid, 0,
            "the end-to-end tests create users and start sshd: run them as root (CI does)"
        );
        assert!(
            Path::new("/usr/sbin/sshd").exists(),
            "sshd is missing: apt-get install openssh-server"
        );
        let lab = Path::new(LAB);
        std::fs::create_dir_all(lab.join("work")).expect("lab dir");
        std::fs::set_permissions(lab, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(lab.join("work"), std::fs::Permissions::from_mode(0o1777))
            .expect("chmod");
        let ctl = user("pbctl", None);
        let key = user("pbkey", None);
        let pass = user("pbpass", None);
        let nohome = user("pbnohome", Some("/nonexistent-pbnohome"));
        sh(&format!(
            "echo 'pbpass:{PASSWORD}' | chpasswd && echo 'pbnohome:{PASSWORD}' | chpasswd"
        ));
        // `*` (no password) instead of useradd's `!` (locked): sshd without PAM refuses locked accounts even
        // for key logins.
        sh("usermod -p '*' pbkey && usermod -p '*' pbctl");
        // A fresh start for every test binary: no runner, module cache or master left from before.
        for u in [&ctl, &key, &pass] {
            sh(&format!(
                "rm -rf {home}/.cache/playbook /tmp/playbook-{uid}",
                home = u.home.display(),
                uid = u.uid
            ));
        }
        sh(&format!(
            "su -s /bin/sh pbctl -c 'mkdir -p ~/.ssh && chmod 700 ~/.ssh && test -f ~/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N \"\" -f ~/.ssh/id_ed25519' && \
             mkdir -p {kh}/.ssh && cp {ch}/.ssh/id_ed25519.pub {kh}/.ssh/authorized_keys && chown -R pbkey: {kh}/.ssh && chmod 700 {kh}/.ssh && chmod 600 {kh}/.ssh/authorized_keys",
            kh = key.home.display(),
            ch = ctl.home.display()
        ));
        let host_key = lab.join("ssh_host_ed25519_key");
        if !host_key.exists() {
            sh(&format!(
                "ssh-keygen -q -t ed25519 -N '' -f {}",
                host_key.display()
            ));
        }
        let public = std::fs::read_to_string(host_key.with_extension("pub")).expect("host key");
        let public: Vec<&str> = public.split_whitespace().take(2).collect();
        let host_key_line = public.join(" ");
        let mut known = format!("127.0.0.1 {host_key_line}\n");
        for h in HOSTS.iter().chain([&REUSE_HOST]) {
            known.push_str(&format!("[{h}]:{PORT} {host_key_line}\n"));
        }
        for u in [&ctl, &pass] {
            let dir = u.home.join(".ssh");
            std::fs::create_dir_all(&dir).expect(".ssh");
            std::fs::write(dir.join("known_hosts"), &known).expect("known_hosts");
            sh(&format!(
                "chown -R {}: {} && chmod 700 {}",
                u.name,
                dir.display(),
                dir.display()
            ));
        }
        // become: pbkey may sudo without a password, pbpass with its own; pbctl may become pbkey on this
        // machine (connection: local).
        assert!(
            Path::new("/usr/bin/sudo").exists(),
            "sudo is missing: apt-get install sudo (scripts/install-deps does)"
        );
        std::fs::write(
            "/etc/sudoers.d/playbook-e2e",
            "pbkey ALL=(ALL:ALL) NOPASSWD: ALL\npbpass ALL=(ALL:ALL) ALL\npbctl ALL=(pbkey) NOPASSWD: ALL\n",
        )
        .expect("sudoers");
        std::fs::set_permissions(
            "/etc/sudoers.d/playbook-e2e",
            std::fs::Permissions::from_mode(0o440),
        )
        .expect("chmod sudoers");
        // The grants last only as long as the tests: they are taken back when this process exits.
        extern "C" fn revoke_sudo() {
            let _ = std::fs::remove_file("/etc/sudoers.d/playbook-e2e");
        }
        // SAFETY: registers a plain function without captured state; it only removes a file.
        unsafe { libc::atexit(revoke_sudo) };
        sh("mkdir -p /run/sshd && chmod 755 /run/sshd");
        let mut listen: Vec<(String, u16)> = HOSTS
            .iter()
            .chain([&REUSE_HOST])
            .map(|h| (h.to_string(), PORT))
            .collect();
        listen.push(("127.0.0.1".into(), 22));
        for (addr, port) in &listen {
            start_sshd(lab, &host_key, addr, *port);
        }
        Lab {
            ctl,
            key,
            pass,
            nohome,
        }
    }

    /// A fresh directory that every lab user can read, for playbooks and inventories.
    pub fn workdir(&self, name: &str) -> PathBuf {
        let dir = Path::new(LAB)
            .join("work")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("workdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        dir
    }

    /// The sshd log of a host (LogLevel VERBOSE: one "Accepted" line per authenticated connection).
    pub fn sshd_log(&self, addr: &str, port: u16) -> String {
        std::fs::read_to_string(Path::new(LAB).join(format!("sshd-{addr}-{port}.log")))
            .unwrap_or_default()
    }

    /// How many connections a host's sshd accepted so far.
    pub fn accepted(&self, addr: &str, port: u16) -> usize {
        self.sshd_log(addr, port).matches("Accepted ").count()
    }
}

fn start_sshd(lab: &Path, host_key: &Path, addr: &str, port: u16) {
    let pid_file = lab.join(format!("sshd-{addr}-{port}.pid"));
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        let _ = Command::new("kill").arg(pid.trim()).status();
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = lab.join(format!("sshd-{addr}-{port}.log"));
    let _ = std::fs::remove_file(&log);
    let config = lab.join(format!("sshd-{addr}-{port}.conf"));
    std::fs::write(
        &config,
        format!(
            "ListenAddress {addr}:{port}\nHostKey {key}\nPidFile {pid}\nPasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin no\nAuthorizedKeysFile .ssh/authorized_keys\n\
             LogLevel VERBOSE\nMaxStartups 100:30:200\nMaxSessions 50\nSubsystem sftp internal-sftp\n",
            key = host_key.display(),
            pid = pid_file.display()
        ),
    )
    .expect("sshd config");
    let status = Command::new("/usr/sbin/sshd")
        .arg("-f")
        .arg(&config)
        .arg("-E")
        .arg(&log)
        .status()
        .expect("sshd starts");
    assert!(
        status.success(),
        "sshd on {addr}:{port} failed to start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect((addr, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd on {addr}:{port} does not listen: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a run printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the exit code, showing the output when it differs.
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The recap line of a host.
    pub fn recap(&self, host: &str) -> String {
        self.stdout
            .lines()
            .rev()
            .find(|l| l.starts_with(&format!("{host} ")))
            .unwrap_or_else(|| panic!("no recap line for {host} in:\n{}", self.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Runs the `playbook` binary as a lab user, in a directory, with a clean environment.
pub struct TestRun {
    user: User,
    dir: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

pub fn playbook_bin() -> &'static str {
    env!("CARGO_BIN_EXE_playbook")
}

impl TestRun {
    pub fn new(user: &User, dir: &Path) -> TestRun {
        TestRun {
            user: user.clone(),
            dir: dir.to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> TestRun {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> TestRun {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(playbook_bin());
        cmd.args(&self.args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", &self.user.home)
            .env("USER", self.user.name)
            .env("LOGNAME", self.user.name)
            .uid(self.user.uid)
            // std drops root's supplementary groups when it switches uid.
            .gid(self.user.gid);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self) -> Output {
        let out = self
            .command()
            .stdin(Stdio::null())
            .output()
            .expect("playbook runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs in a real pseudo-terminal: waits for `prompt`, types `answer` and Enter, and returns what the
    /// terminal showed and the exit code.
    pub fn run_in_pty(&self, prompt: &str, answer: &str) -> Output {
        let (master, slave) = openpty();
        let mut cmd = self.command();
        let slave_fd = slave;
        // SAFETY: between fork and exec we only call async-signal-safe functions on descriptors we own.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                for fd in 0..3 {
                    if libc::dup2(slave_fd, fd) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("playbook runs in a pty");
        // SAFETY: closing our copy of the slave; the child has its own.
        unsafe { libc::close(slave) };
        // SAFETY: master is a valid descriptor we own from here on.
        let mut terminal =
            unsafe { <std::fs::File as std::os::unix::io::FromRawFd>::from_raw_fd(master) };
        let mut screen = Vec::new();
        let mut typed = false;
        let mut buf = [0u8; 4096];
        loop {
            match terminal.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => screen.extend_from_slice(&buf[..n]),
            }
            if !typed && String::from_utf8_lossy(&screen).contains(prompt) {
                use std::io::Write;
                std::thread::sleep(Duration::from_millis(100));
                terminal
                    .write_all(format!("{answer}\n").as_bytes())
                    .expect("type into the pty");
                typed = true;
            }
        }
        let status = child.wait().expect("playbook exits");
        Output {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&screen).replace("\r\n", "\n"),
            stderr: String::new(),
        }
    }
}

fn openpty() -> (i32, i32) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors into our integers; the other arguments may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    (master, slave)
}

/// Writes a file readable by every lab user.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write test file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    path
}

/// The standard inventory of the lab: two groups over three sshd hosts, key auth as `pbkey`.
pub fn lab_inventory() -> String {
    format!(
        "[web]\nweb1 ansible_host={} ansible_port={PORT}\nweb2 ansible_host={} ansible_port={PORT}\n\n\
         [db]\ndb1 ansible_host={} ansible_port={PORT}\n\n[all:vars]\nansible_user=pbkey\n",
        HOSTS[0], HOSTS[1], HOSTS[2]
    )
}

/// Watches every process's argv and environment for `secret` until stopped; returns where it was seen.
pub struct SecretWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<std::collections::BTreeSet<String>>,
}

impl SecretWatch {
    pub fn start(secret: &str) -> SecretWatch {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let needle = secret.as_bytes().to_vec();
        let own = std::process::id().to_string();
        let handle = std::thread::spawn(move || {
            let mut seen = std::collections::BTreeSet::new();
            let mut samples = 0u32;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) || samples < 5 {
                samples += 1;
                let Ok(entries) = std::fs::read_dir("/proc") else {
                    break;
                };
                for entry in entries.flatten() {
                    let pid = entry.file_name().to_string_lossy().into_owned();
                    if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == own {
                        continue;
                    }
                    for file in ["cmdline", "environ"] {
                        if let Ok(bytes) = std::fs::read(entry.path().join(file))
                            && bytes.windows(needle.len()).any(|w| w == needle.as_slice())
                        {
                            let comm = std::fs::read_to_string(entry.path().join("comm"))
                                .unwrap_or_default();
                            seen.insert(format!("{pid} ({}) {file}", comm.trim()));
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            seen
        });
        SecretWatch { stop, handle }
    }

    pub fn finish(self) -> std::collections::BTreeSet<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().expect("watcher thread")
    }
}
