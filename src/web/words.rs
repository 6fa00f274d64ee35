//! The upload form's languages and words. Every string a patron reads lives in
//! `templates/upload/<lang>.toml` (as the kiosk's do); the page templates only arrange them.
//! Both files hold the same keys (a test checks it).

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::De => "Deutsch",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(code.trim()))
    }

    fn source(self) -> &'static str {
        match self {
            Self::En => include_str!("../../templates/upload/en.toml"),
            Self::De => include_str!("../../templates/upload/de.toml"),
        }
    }
}

/// The page's language: an explicit `lang` (the switch, or the form's hidden field) first, then
/// the browser's `Accept-Language` in its order of preference (`de-AT;q=0.9` counts as `de`),
/// else English.
pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(lang) = explicit.and_then(Lang::parse) {
        return lang;
    }
    let mut ranked: Vec<(f32, usize, Lang)> = accept_language
        .unwrap_or_default()
        .split(',')
        .enumerate()
        .filter_map(|(i, item)| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let primary = tag.split('-').next()?;
            let q = parts.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.trim().parse::<f32>().ok())).unwrap_or(1.0);
            Some((q, i, Lang::parse(primary)?)).filter(|(q, _, _)| *q > 0.0)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.first().map_or(Lang::En, |(_, _, l)| *l)
}

/// The words of one language.
pub type Words = BTreeMap<String, String>;

/// Loads the words of every language.
///
/// # Panics
/// When a strings file does not parse: they are compiled in, and a test parses them.
pub fn words() -> BTreeMap<&'static str, Words> {
    Lang::ALL
        .into_iter()
        .map(|l| (l.code(), toml::from_str::<Words>(l.source()).unwrap_or_else(|e| panic!("templates/upload/{}.toml: {e}", l.code()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_word() {
        let all = words();
        let en = &all["en"];
        assert!(en.len() > 20, "the English words are loaded");
        for (code, w) in &all {
            let missing: Vec<&String> = en.keys().filter(|k| !w.contains_key(*k)).collect();
            let extra: Vec<&String> = w.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{code}: missing {missing:?}, extra {extra:?}");
            assert!(w.values().all(|v| !v.trim().is_empty()), "{code} has an empty string");
        }
    }

    #[test]
    fn the_language_is_the_switch_then_the_browser_then_english() {
        for (explicit, accept, want) in [
            (None, None, Lang::En),
            (None, Some("de-DE,de;q=0.9,en;q=0.8"), Lang::De),
            (None, Some("en-GB,de;q=0.5"), Lang::En),
            (None, Some("fr-FR,de;q=0.7,en;q=0.3"), Lang::De),
            (None, Some("en;q=0.2, de;q=0.8"), Lang::De),
            (None, Some("de;q=0, en"), Lang::En),
            (None, Some("fr, it"), Lang::En),
            (Some("de"), Some("en"), Lang::De),
            (Some("en"), Some("de"), Lang::En),
            (Some("xx"), Some("de"), Lang::De),
            (None, Some(";;;,q=,"), Lang::En),
        ] {
            assert_eq!(negotiate(explicit, accept), want, "{explicit:?} {accept:?}");
        }
    }
}
