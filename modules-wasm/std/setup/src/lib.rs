//! `setup`: gathers facts about the host, first cut (the names Ansible gives them, under `ansible_facts`).
//!
//! Reads `/etc` and `/proc` through read-only preopens and asks `playbook:host/system` for what no file holds
//! (uname, the user, the resolver's fqdn, interface addresses). It needs nothing that writes, so it runs the same
//! in check mode, as Ansible's does.
use playbook_module_sdk::time::Civil;
use playbook_module_sdk::{
    Capability, Context, Description, Failure, Map, Module, Outcome, Value, json, system,
};
use std::collections::BTreeMap;
use std::time::SystemTime;

struct Setup;

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    gather_subset: Option<Value>,
    #[serde(default)]
    gather_timeout: Option<Value>,
    #[serde(default)]
    filter: Option<Value>,
    #[serde(default)]
    fact_path: Option<String>,
}

impl Module for Setup {
    type Args = Args;

    fn describe() -> Description {
        Description {
            name: "setup".into(),
            summary: "Gathers facts about remote hosts".into(),
            needs: vec![
                Capability::System,
                Capability::Read("/etc".into()),
                Capability::Read("/proc".into()),
                // /etc/os-release is usually a link to /usr/lib/os-release.
                Capability::Read("/usr/lib".into()),
            ],
            supports_check_mode: true,
        }
    }

    fn run(args: Args, _ctx: &Context) -> Result<Outcome, Failure> {
        let _ = (&args.gather_subset, &args.gather_timeout, &args.fact_path);
        let mut facts = Map::new();
        platform(&mut facts);
        distribution(&mut facts);
        hardware(&mut facts);
        network(&mut facts);
        user(&mut facts);
        facts.insert("date_time".into(), date_time(SystemTime::now()));
        // The environment the runner gives a module granted `system`: the one its commands run with.
        let env: Map<String, Value> = std::env::vars()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        facts.insert("env".into(), Value::Object(env));
        facts.insert("system_capabilities_enforced".into(), "N/A".into());
        facts.insert("gather_subset".into(), json!(["all"]));
        facts.insert("module_setup".into(), Value::Bool(true));
        if let Some(Value::String(pattern)) = &args.filter {
            facts.retain(|k, _| {
                glob_match(pattern, &format!("ansible_{k}")) || glob_match(pattern, k)
            });
        }
        Ok(Outcome::unchanged().with("ansible_facts", Value::Object(facts)))
    }
}

fn platform(facts: &mut Map<String, Value>) {
    let uname = system::uname();
    let fqdn = system::fqdn();
    let short = uname
        .nodename
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    let domain = fqdn
        .split_once('.')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    facts.insert("system".into(), uname.sysname.into());
    facts.insert("kernel".into(), uname.release.into());
    facts.insert("kernel_version".into(), uname.version.into());
    facts.insert("machine".into(), uname.machine.clone().into());
    facts.insert("architecture".into(), uname.machine.into());
    facts.insert("nodename".into(), uname.nodename.into());
    facts.insert("hostname".into(), short.into());
    facts.insert("fqdn".into(), fqdn.into());
    facts.insert("domain".into(), domain.into());
}

/// Parses `KEY=value` lines of os-release, unquoting values.
fn os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// Ansible's names for distributions, keyed by os-release `ID`, and the family each belongs to.
fn distribution_names(id: &str) -> (String, &'static str) {
    let (name, family) = match id {
        "debian" => ("Debian", "Debian"),
        "ubuntu" => ("Ubuntu", "Debian"),
        "linuxmint" => ("Linux Mint", "Debian"),
        "raspbian" => ("Debian", "Debian"),
        "rhel" => ("RedHat", "RedHat"),
        "centos" => ("CentOS", "RedHat"),
        "fedora" => ("Fedora", "RedHat"),
        "rocky" => ("Rocky", "RedHat"),
        "almalinux" => ("AlmaLinux", "RedHat"),
        "ol" => ("OracleLinux", "RedHat"),
        "amzn" => ("Amazon", "RedHat"),
        "alpine" => ("Alpine", "Alpine"),
        "arch" => ("Archlinux", "Archlinux"),
        "gentoo" => ("Gentoo", "Gentoo"),
        "opensuse-leap" | "opensuse-tumbleweed" | "opensuse" => ("openSUSE Leap", "Suse"),
        "sles" => ("SLES", "Suse"),
        other => return (capitalize(other), "Linux"),
    };
    (name.to_string(), family)
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "NA".into(),
    }
}

fn distribution(facts: &mut Map<String, Value>) {
    let release = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .map(|t| os_release(&t))
        .unwrap_or_default();
    let id = release.get("ID").cloned().unwrap_or_default();
    let (name, family) = distribution_names(&id);
    let mut version = release
        .get("VERSION_ID")
        .cloned()
        .unwrap_or_else(|| "NA".into());
    // Ansible reports Debian's point release from /etc/debian_version (12.7, not 12).
    if id == "debian"
        && let Ok(point) = std::fs::read_to_string("/etc/debian_version")
        && point.trim().starts_with(|c: char| c.is_ascii_digit())
    {
        version = point.trim().to_string();
    }
    let major = version.split('.').next().unwrap_or("NA").to_string();
    let codename = release
        .get("VERSION_CODENAME")
        .cloned()
        .unwrap_or_else(|| "NA".into());
    facts.insert("distribution".into(), name.into());
    facts.insert("distribution_version".into(), version.into());
    facts.insert("distribution_major_version".into(), major.into());
    facts.insert("distribution_release".into(), codename.into());
    facts.insert("os_family".into(), family.into());
}

fn hardware(facts: &mut Map<String, Value>) {
    if let Ok(meminfo) = std::fs::read_to_string("/proc/meminfo") {
        let kb = |key: &str| {
            meminfo
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        };
        if let Some(total) = kb("MemTotal") {
            facts.insert("memtotal_mb".into(), (total / 1024).into());
        }
        if let Some(free) = kb("MemFree") {
            facts.insert("memfree_mb".into(), (free / 1024).into());
        }
        if let Some(total) = kb("SwapTotal") {
            facts.insert("swaptotal_mb".into(), (total / 1024).into());
        }
    }
    if let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") {
        let mut processors = Vec::new();
        let mut count = 0u64;
        let mut sockets = std::collections::BTreeSet::new();
        let mut cores_per_socket = 0u64;
        for line in cpuinfo.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match key.trim() {
                "processor" => {
                    count += 1;
                    processors.push(Value::from(value.trim()));
                }
                "vendor_id" | "model name" => processors.push(Value::from(value.trim())),
                "physical id" => {
                    sockets.insert(value.trim().to_string());
                }
                "cpu cores" => cores_per_socket = value.trim().parse().unwrap_or(1),
                _ => {}
            }
        }
        let sockets = sockets.len().max(1) as u64;
        let cores = cores_per_socket.max(1);
        facts.insert("processor".into(), Value::Array(processors));
        facts.insert("processor_count".into(), sockets.into());
        facts.insert("processor_cores".into(), cores.into());
        facts.insert("processor_vcpus".into(), count.into());
        facts.insert(
            "processor_threads_per_core".into(),
            (count / (sockets * cores)).max(1).into(),
        );
        facts.insert("processor_nproc".into(), count.into());
    }
}

/// The default route's interface and gateway from `/proc/net/route` (hex, little-endian addresses).
fn default_route(route: &str) -> Option<(String, String)> {
    route.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 3 || fields[1] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(fields[2], 16).ok()?.to_le_bytes();
        Some((
            fields[0].to_string(),
            format!("{}.{}.{}.{}", gw[0], gw[1], gw[2], gw[3]),
        ))
    })
}

fn network(facts: &mut Map<String, Value>) {
    let interfaces = system::interfaces();
    let mut all_v4 = Vec::new();
    let mut all_v6 = Vec::new();
    let mut names = Vec::new();
    for iface in &interfaces {
        names.push(Value::from(iface.name.clone()));
        let mut entry = Map::new();
        entry.insert("device".into(), iface.name.clone().into());
        entry.insert("active".into(), true.into());
        if let Some(addr) = iface.ipv4.first() {
            entry.insert("ipv4".into(), json!({ "address": addr }));
        }
        if let Some(mac) = &iface.mac {
            entry.insert("macaddress".into(), mac.clone().into());
        }
        facts.insert(
            iface.name.replace(['-', ':', '.'], "_"),
            Value::Object(entry),
        );
        if iface.name != "lo" {
            all_v4.extend(iface.ipv4.iter().cloned().map(Value::from));
            all_v6.extend(iface.ipv6.iter().cloned().map(Value::from));
        }
    }
    facts.insert("interfaces".into(), Value::Array(names));
    facts.insert("all_ipv4_addresses".into(), Value::Array(all_v4));
    facts.insert("all_ipv6_addresses".into(), Value::Array(all_v6));
    let default = std::fs::read_to_string("/proc/net/route")
        .ok()
        .and_then(|r| default_route(&r))
        .and_then(|(name, gateway)| {
            let iface = interfaces.iter().find(|i| i.name == name)?;
            let address = iface.ipv4.first()?.clone();
            Some(json!({
                "interface": name,
                "alias": name,
                "address": address,
                "gateway": gateway,
                "macaddress": iface.mac.clone().unwrap_or_default(),
            }))
        })
        .unwrap_or_else(|| json!({}));
    facts.insert("default_ipv4".into(), default);
}

fn user(facts: &mut Map<String, Value>) {
    let me = system::identity();
    facts.insert("user_id".into(), me.user.into());
    facts.insert("user_uid".into(), me.uid.into());
    facts.insert("user_gid".into(), me.gid.into());
    facts.insert("user_dir".into(), me.home.into());
    facts.insert("user_shell".into(), me.shell.into());
}

fn date_time(now: SystemTime) -> Value {
    const DAYS: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    let c = Civil::from_system_time(now);
    let weekday = c.weekday_number();
    let day_of_year = c.days - playbook_module_sdk::time::days_from_civil(c.year, 1, 1);
    // strftime("%W"): weeks starting on Monday, days before the first Monday are week 0.
    let monday_based = (weekday + 6) % 7;
    let week = (day_of_year + 7 - i64::from(monday_based)) / 7;
    let date = format!("{:04}-{:02}-{:02}", c.year, c.month, c.day);
    let time = format!("{:02}:{:02}:{:02}", c.hour, c.minute, c.second);
    json!({
        "year": format!("{:04}", c.year),
        "month": format!("{:02}", c.month),
        "day": format!("{:02}", c.day),
        "hour": format!("{:02}", c.hour),
        "minute": format!("{:02}", c.minute),
        "second": format!("{:02}", c.second),
        "epoch": c.epoch.to_string(),
        "epoch_int": c.epoch.to_string(),
        "date": date,
        "time": time,
        "iso8601": format!("{date}T{time}Z"),
        "iso8601_micro": format!("{date}T{time}.{:06}Z", c.micros),
        "iso8601_basic": format!("{:04}{:02}{:02}T{:02}{:02}{:02}{:06}", c.year, c.month, c.day, c.hour, c.minute, c.second, c.micros),
        "iso8601_basic_short": format!("{:04}{:02}{:02}T{:02}{:02}{:02}", c.year, c.month, c.day, c.hour, c.minute, c.second),
        "weekday": DAYS[weekday as usize],
        "weekday_number": weekday.to_string(),
        "weeknumber": format!("{week:02}"),
        "tz": "UTC",
        "tz_dst": "UTC",
        "tz_offset": "+0000",
    })
}

/// Shell-style `*` and `?` matching, for `filter`.
fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

playbook_module_sdk::module!(Setup);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_values_are_unquoted() {
        let r = os_release("ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME='Debian GNU/Linux 12'\n");
        assert_eq!(r["ID"], "debian");
        assert_eq!(r["VERSION_ID"], "12");
        assert_eq!(r["PRETTY_NAME"], "Debian GNU/Linux 12");
    }

    #[test]
    fn default_route_gateway_is_decoded_little_endian() {
        let route = "Iface\tDestination\tGateway \tFlags\n\
                     eth0\t0000FEA9\t00000000\t0001\n\
                     eth0\t00000000\t0101A8C0\t0003\n";
        assert_eq!(
            default_route(route),
            Some(("eth0".to_string(), "192.168.1.1".to_string()))
        );
    }

    #[test]
    fn filter_globs() {
        assert!(glob_match("ansible_dist*", "ansible_distribution"));
        assert!(!glob_match("ansible_dist*", "ansible_kernel"));
    }

    #[test]
    fn week_numbers_follow_strftime_w() {
        // 2024-01-01 was a Monday: week 01 under %W.
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_067_200);
        assert_eq!(date_time(at)["weeknumber"], "01");
        assert_eq!(date_time(at)["weekday"], "Monday");
    }
}
