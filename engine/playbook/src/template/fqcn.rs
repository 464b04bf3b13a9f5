//! Filters, tests and lookups by their collection's name (`| ansible.builtin.combine`, `is
//! ansible.builtin.version`, `| community.general.json_query`), as Ansible resolves them: written short
//! before the template compiles, so that one registration serves both spellings.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// The collections whose plugins this engine carries.
const COLLECTIONS: &[&str] = &["ansible.builtin.", "ansible.legacy.", "community.general."];

/// `| ns.coll.name` and `is [not] ns.coll.name` for the collections above.
static QUALIFIED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\|\s*|\bis\s+(?:not\s+)?)(?:ansible\.builtin|ansible\.legacy|community\.general)\.([A-Za-z_]\w*)")
        .expect("a valid pattern")
});

/// The template or expression with its qualified filter and test names written short.
pub(super) fn in_text(text: &str) -> Cow<'_, str> {
    if !COLLECTIONS.iter().any(|c| text.contains(c)) {
        return text.into();
    }
    QUALIFIED.replace_all(text, "$1$2")
}

/// A lookup's name without its collection (`ansible.builtin.env` is `env`).
pub(super) fn short_lookup(name: &str) -> &str {
    COLLECTIONS
        .iter()
        .find_map(|c| name.strip_prefix(c))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names_are_written_short() {
        assert_eq!(
            in_text("{{ a | ansible.builtin.combine(b) is not ansible.builtin.string }}"),
            "{{ a | combine(b) is not string }}"
        );
        assert_eq!(
            in_text("x | community.general.json_query('a')"),
            "x | json_query('a')"
        );
        assert_eq!(
            in_text("{{ 'ansible.builtin.x' }}"),
            "{{ 'ansible.builtin.x' }}"
        );
        assert_eq!(short_lookup("ansible.builtin.env"), "env");
        assert_eq!(short_lookup("env"), "env");
    }
}
