//! Ansible's math filters that Jinja lacks: `log`, `pow`, `root`, `combinations`, `permutations`.

use super::invalid;
use minijinja::value::Value as JValue;
use minijinja::{Environment, Error};

pub(super) fn register(env: &mut Environment<'static>) {
    super::add_filter(
        env,
        "log",
        |x: f64, base: Option<f64>| -> Result<f64, Error> {
            if x <= 0.0 {
                return Err(invalid("log() math domain error"));
            }
            Ok(match base {
                None => x.ln(),
                Some(10.0) => x.log10(),
                Some(b) => x.ln() / b.ln(),
            })
        },
    );
    super::add_filter(env, "pow", |x: f64, y: f64| x.powf(y));
    super::add_filter(
        env,
        "root",
        |x: f64, base: Option<f64>| -> Result<f64, Error> {
            match base {
                None | Some(2.0) => {
                    if x < 0.0 {
                        Err(invalid("math domain error"))
                    } else {
                        Ok(x.sqrt())
                    }
                }
                Some(b) => Ok(x.powf(1.0 / b)),
            }
        },
    );
    super::add_filter(
        env,
        "combinations",
        |v: JValue, r: usize| -> Result<JValue, Error> {
            let items: Vec<JValue> = v.try_iter()?.collect();
            let mut out = Vec::new();
            combine(&items, r, 0, &mut Vec::new(), &mut out);
            Ok(JValue::from(out))
        },
    );
    super::add_filter(
        env,
        "permutations",
        |v: JValue, r: Option<usize>| -> Result<JValue, Error> {
            let items: Vec<JValue> = v.try_iter()?.collect();
            let r = r.unwrap_or(items.len());
            let mut out = Vec::new();
            let mut used = vec![false; items.len()];
            permute(&items, r, &mut used, &mut Vec::new(), &mut out);
            Ok(JValue::from(out))
        },
    );
}

/// `itertools.combinations` order: by position, the leftmost varying slowest.
fn combine(
    items: &[JValue],
    r: usize,
    from: usize,
    chosen: &mut Vec<JValue>,
    out: &mut Vec<JValue>,
) {
    if chosen.len() == r {
        out.push(JValue::from(chosen.clone()));
        return;
    }
    for i in from..items.len() {
        chosen.push(items[i].clone());
        combine(items, r, i + 1, chosen, out);
        chosen.pop();
    }
}

/// `itertools.permutations` order.
fn permute(
    items: &[JValue],
    r: usize,
    used: &mut Vec<bool>,
    chosen: &mut Vec<JValue>,
    out: &mut Vec<JValue>,
) {
    if chosen.len() == r {
        out.push(JValue::from(chosen.clone()));
        return;
    }
    for i in 0..items.len() {
        if used[i] {
            continue;
        }
        used[i] = true;
        chosen.push(items[i].clone());
        permute(items, r, used, chosen, out);
        chosen.pop();
        used[i] = false;
    }
}
