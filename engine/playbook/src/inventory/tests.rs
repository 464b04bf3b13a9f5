//! Tests of loading sources, precedence and magic variables, and helpers the parsers' tests share.

use super::*;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh empty directory under the system temp dir.
pub(super) fn scratch_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "playbook-inventory-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("temp dir is writable");
    }
    std::fs::write(&path, text).expect("temp dir is writable");
    path.display().to_string()
}

fn load_one(ext: &str, text: &str) -> Result<Inventory, InventoryError> {
    let dir = scratch_dir();
    let path = write(&dir, &format!("inv.{ext}"), text);
    let result = Inventory::load(&[path]);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Loads `text` from a file named `inv.<ext>`.
pub(super) fn load_text(ext: &str, text: &str) -> Inventory {
    load_one(ext, text).unwrap_or_else(|e| panic!("inventory should load: {e}"))
}

/// The rendered error of loading `text` from a file named `inv.<ext>`.
pub(super) fn load_text_err(ext: &str, text: &str) -> String {
    match load_one(ext, text) {
        Ok(inv) => panic!("inventory should fail to load: {inv:?}"),
        Err(e) => e.to_string(),
    }
}

fn names(inv: &Inventory) -> Vec<&str> {
    inv.hosts().map(|h| h.name.as_str()).collect()
}

#[test]
fn ini_text_in_a_yml_file_loads_as_ini() {
    let dir = scratch_dir();
    let path = write(&dir, "hosts.yml", "[server_name]\n127.0.0.1\n");
    let inv = Inventory::load(&[path]).expect("INI content is found by content");
    assert_eq!(names(&inv), ["127.0.0.1"]);
    assert_eq!(
        inv.group("server_name").expect("group").hosts,
        ["127.0.0.1"]
    );
    assert_eq!(inv.select("server_name").expect("valid"), ["127.0.0.1"]);
    // The inventory defines a localhost-like host, so `localhost` means it (Ansible's `inventory.localhost`).
    assert_eq!(inv.select("localhost").expect("valid"), ["127.0.0.1"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn yaml_syntax_errors_win_for_yaml_names_and_ini_errors_otherwise() {
    let e = load_text_err("yml", "all:\n  hosts: [\n");
    assert!(e.contains("YAML syntax error"), "{e}");
    let e = load_text_err("ini", "[web]\nh1 oops\n");
    assert!(e.contains("Expected key=value"), "{e}");
    let e = load_text_err("yml", "plugin: aws_ec2\n");
    assert!(e.contains("inventory plugins are not supported"), "{e}");
}

#[test]
fn host_lists_put_hosts_in_ungrouped_with_ports() {
    let inv =
        Inventory::load(&["web1, web2:2222,[::1]:2200,db[1:2],".to_string()]).expect("host list");
    assert_eq!(names(&inv), ["web1", "web2", "::1", "db[1:2]"]);
    assert_eq!(
        inv.host("web2").expect("web2").vars["ansible_port"],
        json!(2222)
    );
    assert_eq!(
        inv.host("::1").expect("::1").vars["ansible_port"],
        json!(2200)
    );
    assert_eq!(inv.group("ungrouped").expect("ungrouped").hosts.len(), 4);
    assert_eq!(
        inv.host("web1").expect("web1").vars["inventory_file"],
        json!("web1, web2:2222,[::1]:2200,db[1:2],")
    );
    let inv = Inventory::load(&["host1,".to_string()]).expect("host list");
    assert_eq!(inv.select("all").expect("valid"), ["host1"]);
}

#[test]
fn missing_path_is_an_error_naming_it() {
    let err = Inventory::load(&["/no/such/inventory".to_string()]).expect_err("missing");
    assert!(matches!(&err, InventoryError::NotFound { path } if path == "/no/such/inventory"));
    assert!(
        err.to_string()
            .contains("Unable to parse /no/such/inventory as an inventory source")
    );
}

#[test]
fn empty_sources_give_only_implicit_localhost() {
    let inv = Inventory::load(&[]).expect("empty");
    assert_eq!(inv.hosts().count(), 0);
    assert!(inv.select("all").expect("valid").is_empty());
    assert_eq!(inv.select("localhost").expect("valid"), ["localhost"]);
    assert_eq!(inv.select("127.0.0.1").expect("valid"), ["127.0.0.1"]);
    let local = inv.host("localhost").expect("implicit");
    assert!(local.implicit);
    assert_eq!(local.vars["ansible_connection"], json!("local"));
    assert!(inv.group_names("localhost").is_empty());
    assert!(inv.host("elsewhere").is_none());
}

#[test]
fn implicit_localhost_gets_all_vars_but_is_in_no_group() {
    let inv = load_text("ini", "web1\n[all:vars]\nx=1\n");
    assert_eq!(inv.host_vars("localhost")["x"], json!(1));
    assert_eq!(
        inv.host_vars("localhost")["ansible_connection"],
        json!("local")
    );
    assert_eq!(inv.groups_map()["all"], json!(["web1"]));
    let defined = load_text("ini", "localhost ansible_connection=ssh\n");
    assert!(!defined.host("localhost").expect("defined").implicit);
    assert_eq!(defined.select("all").expect("valid"), ["localhost"]);
    assert_eq!(
        defined.host_vars("localhost")["ansible_connection"],
        json!("ssh")
    );
}

#[test]
fn precedence_child_over_parent_over_all_and_host_last() {
    let inv = load_text(
        "ini",
        "[all:vars]\nv=all\nonly_all=1\n\
         [parent:children]\nchild\n[parent:vars]\nv=parent\nfrom_parent=1\n\
         [child]\nh1 hv=host\nh2 v=own\n[child:vars]\nv=child\n\
         [zeta]\nh1\n[zeta:vars]\nv=zeta\n[alpha]\nh1\n[alpha:vars]\nv=alpha\n",
    );
    // h1: depth 1 groups parent, zeta, alpha (by name: alpha < parent < zeta), then child (depth 2).
    let vars = inv.host_vars("h1");
    assert_eq!(vars["v"], json!("child"));
    assert_eq!(vars["from_parent"], json!(1));
    assert_eq!(vars["only_all"], json!(1));
    assert_eq!(vars["hv"], json!("host"));
    assert_eq!(inv.host_vars("h2")["v"], json!("own"));
    let keys: Vec<&String> = vars.keys().collect();
    assert_eq!(
        keys[0], "v",
        "keys keep their first position, as Python dicts do"
    );
}

#[test]
fn group_priority_breaks_ties_at_the_same_depth() {
    let inv = load_text(
        "ini",
        "[a]\nh1\n[b]\nh1\n[a:vars]\nv=a\nansible_group_priority=10\n[b:vars]\nv=b\n",
    );
    assert_eq!(inv.host_vars("h1")["v"], json!("a"));
    assert_eq!(inv.group("a").expect("a").priority, 10);
    assert!(
        !inv.group("a")
            .expect("a")
            .vars
            .contains_key("ansible_group_priority")
    );
}

#[test]
fn magic_group_variables() {
    let inv = load_text(
        "ini",
        "loose\n[web]\nw1\n[db]\nd1\n[prod:children]\nweb\ndb\n",
    );
    assert_eq!(inv.group_names("w1"), ["prod", "web"]);
    assert_eq!(inv.group_names("loose"), ["ungrouped"]);
    assert_eq!(
        Value::Object(inv.groups_map()),
        json!({
            "all": ["loose", "w1", "d1"],
            "ungrouped": ["loose"],
            "web": ["w1"],
            "db": ["d1"],
            "prod": ["w1", "d1"],
        })
    );
    assert_eq!(
        inv.group("all").expect("all").children,
        ["ungrouped", "prod"]
    );
    assert_eq!(inv.group_hosts("prod"), ["w1", "d1"]);
}

#[test]
fn directories_load_sorted_and_skip_what_ansible_skips() {
    let dir = scratch_dir();
    write(&dir, "10-web.ini", "[web]\nw1\n");
    write(&dir, "20-db.yml", "db:\n  hosts:\n    d1:\n");
    write(&dir, "sub/30-more", "[more]\nm1\n");
    write(&dir, "hosts.bak", "[bad]\nskipped_bak\n");
    write(&dir, "notes.md", "# not an inventory\n");
    write(&dir, "old~", "skipped_tilde\n");
    write(&dir, ".hidden", "skipped_hidden\n");
    write(&dir, "group_vars/all.yml", "x: 1\n");
    write(&dir, "host_vars/w1.yml", "y: 1\n");
    let inv = Inventory::load(&[dir.display().to_string()]).expect("directory");
    assert_eq!(names(&inv), ["w1", "d1", "m1"]);
    let w1 = inv.host("w1").expect("w1");
    assert_eq!(w1.vars["inventory_dir"], json!(dir.display().to_string()));
    assert_eq!(
        w1.vars["inventory_file"],
        json!(dir.join("10-web.ini").display().to_string())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn later_sources_add_to_earlier_ones() {
    let dir = scratch_dir();
    let first = write(&dir, "a.ini", "[web]\nw1 x=1\n");
    let second = write(&dir, "b.yml", "web:\n  hosts:\n    w1: {y: 2}\n    w2:\n");
    let inv = Inventory::load(&[first, "extra1,".to_string(), second]).expect("three sources");
    assert_eq!(names(&inv), ["w1", "extra1", "w2"]);
    let w1 = inv.host("w1").expect("w1");
    assert_eq!(
        (w1.vars["x"].clone(), w1.vars["y"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(inv.group("web").expect("web").hosts, ["w1", "w2"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn name_clashes_and_duplicate_localhosts_are_warned() {
    let inv = load_text("ini", "[web]\nweb\nlocalhost\n127.0.0.1\n");
    assert!(
        inv.warnings().iter().any(|w| w.contains("same name: web")),
        "{:?}",
        inv.warnings()
    );
    assert!(
        inv.warnings()
            .iter()
            .any(|w| w.contains("duplicate localhost-like")),
        "{:?}",
        inv.warnings()
    );
    // A host name wins over a group name in a pattern.
    assert_eq!(inv.select("web").expect("valid"), ["web"]);
}
