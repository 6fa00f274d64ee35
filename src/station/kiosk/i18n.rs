//! The kiosk's languages and words. Every string a patron reads lives in
//! `templates/kiosk/<lang>.toml` (as the replies' words live in `templates/<lang>/`); the page
//! template only arranges them. Both files must hold the same keys (a test checks it), so a
//! German screen never shows an English word or an empty one.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
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
        Self::ALL.into_iter().find(|l| l.code() == code.trim())
    }

    fn source(self) -> &'static str {
        match self {
            Self::En => include_str!("../../../templates/kiosk/en.toml"),
            Self::De => include_str!("../../../templates/kiosk/de.toml"),
        }
    }
}

/// `--lang en,de`: the languages offered, the first one the default.
///
/// # Errors
/// Naming an unknown language or an empty list.
pub fn parse_langs(list: &str) -> Result<Vec<Lang>, String> {
    let mut langs = Vec::new();
    for code in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let lang = Lang::parse(code).ok_or_else(|| format!("unknown language {code:?} (the kiosk speaks en, de)"))?;
        if !langs.contains(&lang) {
            langs.push(lang);
        }
    }
    if langs.is_empty() {
        return Err("no language given".into());
    }
    Ok(langs)
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
        .map(|l| (l.code(), toml::from_str::<Words>(l.source()).unwrap_or_else(|e| panic!("templates/kiosk/{}.toml: {e}", l.code()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_word() {
        let all = words();
        let en = &all["en"];
        assert!(en.len() > 40, "the English words are loaded");
        for (code, w) in &all {
            let missing: Vec<&String> = en.keys().filter(|k| !w.contains_key(*k)).collect();
            let extra: Vec<&String> = w.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{code}: missing {missing:?}, extra {extra:?}");
            assert!(w.values().all(|v| !v.trim().is_empty()), "{code} has an empty string");
        }
    }

    #[test]
    fn language_lists_parse() {
        assert_eq!(parse_langs("en,de"), Ok(vec![Lang::En, Lang::De]));
        assert_eq!(parse_langs("de"), Ok(vec![Lang::De]));
        assert_eq!(parse_langs(" de , en ,de"), Ok(vec![Lang::De, Lang::En]));
        assert!(parse_langs("fr").is_err());
        assert!(parse_langs("").is_err());
    }
}
