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
    let collections: Vec<String> = COLLECTIONS.iter().map(|c| regex::escape(c)).collect();
    Regex::new(&format!(
        r"(\|\s*|\bis\s+(?:not\s+)?)(?:{})([A-Za-z_]\w*)",
        collections.join("|")
    ))
    .expect("a valid pattern")
});

/// An expression with its qualified filter and test names written short.
pub(super) fn in_expression(text: &str) -> Cow<'_, str> {
    if !COLLECTIONS.iter().any(|c| text.contains(c)) {
        return text.into();
    }
    QUALIFIED.replace_all(text, "$1$2")
}

/// A template with the qualified names inside its `{{ }}` and `{% %}` written short; its text, comments and
/// raw blocks stay as written.
pub(super) fn in_text(text: &str) -> Cow<'_, str> {
    if !COLLECTIONS.iter().any(|c| text.contains(c)) {
        return text.into();
    }
    super::percent::rewrite_code(text, in_expression).into()
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
    fn only_template_code_is_rewritten() {
        assert_eq!(
            in_text("use | ansible.builtin.copy {% if x is ansible.builtin.string %}y{% endif %}"),
            "use | ansible.builtin.copy {% if x is string %}y{% endif %}"
        );
    }

    #[test]
    fn qualified_names_are_written_short() {
        assert_eq!(
            in_text("{{ a | ansible.builtin.combine(b) is not ansible.builtin.string }}"),
            "{{ a | combine(b) is not string }}"
        );
        assert_eq!(
            in_expression("x | community.general.json_query('a')"),
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
