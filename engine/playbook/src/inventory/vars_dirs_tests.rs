//! Tests of `group_vars/` and `host_vars/`: which files are read and where they sit in precedence, each
//! checked with `ansible-inventory --host` (ansible-core 2.19) on the same tree.

use super::super::Inventory;
use super::super::tests::scratch_dir;
use serde_json::json;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("temp dir is writable");
    }
    std::fs::write(&path, text).expect("temp dir is writable");
}

fn load(sources: &[&Path]) -> Inventory {
    let sources: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    Inventory::load(&sources).unwrap_or_else(|e| panic!("inventory should load: {e}"))
}

/// The tree of `/tmp/gv1`: `ansible-inventory -i inv/hosts.ini [--playbook-dir pb] --host w1`.
fn tree() -> std::path::PathBuf {
    let dir = scratch_dir();
    write(
        &dir,
        "inv/hosts.ini",
        "[all:vars]\na=inv_all\nb=inv_all\n[web]\nw1 h=inv_host hv=inv_host\n\
         [web:vars]\nc=inv_web\nd=inv_web\n[prod:children]\nweb\n[prod:vars]\np=inv_prod\n",
    );
    write(
        &dir,
        "inv/group_vars/all",
        "b: gv_all\nc: gv_all\ne: gv_all\n",
    );
    write(&dir, "inv/group_vars/all.yml", "e: nope\n");
    write(
        &dir,
        "inv/group_vars/web/10.yml",
        "d: gv_web10\nf: gv_web10\n",
    );
    write(&dir, "inv/group_vars/web/sub/x", "f: gv_websub\n");
    write(&dir, "inv/group_vars/web/z.txt", "f: ignored_txt\n");
    write(&dir, "inv/group_vars/web/dir.yml/a.yml", "f: ignored_dir\n");
    write(&dir, "inv/group_vars/web/.h.yml", "f: hidden\n");
    write(&dir, "inv/group_vars/web/t.yml~", "f: tilde\n");
    write(&dir, "inv/group_vars/prod.yaml", "p: gv_prod\n");
    write(&dir, "inv/host_vars/w1.json", "{\"h\": \"hv_file\"}\n");
    write(&dir, "pb/host_vars/w1.yml", "hv: pb_host\n");
    write(&dir, "pb/group_vars/all.yml", "e: pb_all\n");
    write(&dir, "pb/group_vars/prod.yml", "p: pb_prod\n");
    dir
}

#[test]
fn files_beside_the_source_override_its_group_vars_and_host_vars() {
    let dir = tree();
    let inv = load(&[&dir.join("inv/hosts.ini")]);
    let vars = inv.host_vars("w1");
    let get = |k: &str| vars.get(k).cloned().unwrap_or_default();
    // group_vars/all beats even [web:vars] (c); `all` (no extension) wins over all.yml (e);
    // a directory is read in name order, skipping .txt, hidden, `~` and dirs with extensions (f).
    assert_eq!(get("a"), json!("inv_all"));
    assert_eq!(get("b"), json!("gv_all"));
    assert_eq!(get("c"), json!("gv_all"));
    assert_eq!(get("d"), json!("gv_web10"));
    assert_eq!(get("e"), json!("gv_all"));
    assert_eq!(get("f"), json!("gv_websub"));
    assert_eq!(get("h"), json!("hv_file"));
    assert_eq!(get("hv"), json!("inv_host"));
    assert_eq!(get("p"), json!("gv_prod"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn playbook_dir_files_override_inventory_dir_files() {
    let dir = tree();
    let mut inv = load(&[&dir.join("inv/hosts.ini")]);
    inv.add_vars_dir(&dir.join("pb")).expect("valid vars");
    let vars = inv.host_vars("w1");
    assert_eq!(vars["e"], json!("pb_all"));
    assert_eq!(vars["p"], json!("pb_prod"));
    assert_eq!(vars["hv"], json!("pb_host"));
    assert_eq!(vars["h"], json!("hv_file"));
    assert_eq!(vars["c"], json!("gv_all"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_later_source_dir_wins_whatever_the_group_depth() {
    // `ansible-inventory -i d1/hosts -i d2/hosts --host w1` gives x = d2prod: group_vars are merged source by
    // source, so d2's shallower `prod` beats d1's deeper `web`.
    let dir = scratch_dir();
    write(&dir, "d1/hosts", "[web]\nw1\n[prod:children]\nweb\n");
    write(&dir, "d2/hosts", "[other]\nw1\n");
    write(&dir, "d1/group_vars/web.yml", "x: d1web\n");
    write(&dir, "d1/group_vars/prod.yml", "x: d1prod\n");
    write(&dir, "d2/group_vars/prod.yml", "x: d2prod\n");
    let inv = load(&[&dir.join("d1/hosts"), &dir.join("d2/hosts")]);
    assert_eq!(inv.host_vars("w1")["x"], json!("d2prod"));
    let only_d1 = load(&[&dir.join("d1/hosts")]);
    assert_eq!(only_d1.host_vars("w1")["x"], json!("d1web"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_source_uses_its_own_vars_dirs_and_localhost_gets_them_too() {
    let dir = scratch_dir();
    write(&dir, "inv/hosts", "[web]\nw1\n");
    write(&dir, "inv/group_vars/all.yml", "x: all\n");
    write(&dir, "inv/host_vars/localhost.yml", "y: local\n");
    write(&dir, "inv/host_vars/w1.yml", "# only a comment\n");
    let inv = load(&[&dir.join("inv")]);
    assert_eq!(inv.host_vars("w1")["x"], json!("all"));
    let local = inv.host_vars("localhost");
    assert_eq!(
        (local["x"].clone(), local["y"].clone()),
        (json!("all"), json!("local"))
    );
    assert_eq!(local["ansible_connection"], json!("local"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_vars_files_are_located_errors() {
    let dir = scratch_dir();
    write(&dir, "hosts", "w1\n");
    write(&dir, "host_vars/w1.yml", "x: [\n");
    let source = dir.join("hosts").display().to_string();
    let e = Inventory::load(std::slice::from_ref(&source)).expect_err("bad YAML");
    assert!(matches!(e, super::super::InventoryError::VarsFile(_)));
    let text = e.to_string();
    assert!(text.contains("host_vars/w1.yml:"), "{text}");
    write(&dir, "host_vars/w1.yml", "- a\n- b\n");
    let text = Inventory::load(std::slice::from_ref(&source))
        .expect_err("a list")
        .to_string();
    assert!(
        text.contains("Could not process") && text.contains("a list"),
        "{text}"
    );
    // Falsy documents count as empty, as Ansible's `if new_data:`.
    write(&dir, "host_vars/w1.yml", "[]\n");
    assert!(Inventory::load(std::slice::from_ref(&source)).is_ok());
    write(&dir, "host_vars/w1.yml", "hello\n");
    assert!(Inventory::load(std::slice::from_ref(&source)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
