//! Print options a patron asks for in the plus-address (`bw+color+duplex@…`) or in a bracketed
//! option list in the subject ("Subject: thesis [2 copies, duplex]"). Ordinary subject words
//! never count: "Re: body of the thesis" asks for nothing. A bracket counts only when every
//! word in it is an option, so list tags such as `[EXTERNAL]` or `[bw-users]` are left alone.
//! What was applied is reported back in the reply.

/// Largest number of copies one mail may ask for.
pub const MAX_COPIES: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PrintOptions {
    /// `Some(true)` for `color`, `Some(false)` for `mono`/`bw`; `None`: the queue decides.
    pub color: Option<bool>,
    pub duplex: bool,
    pub copies: u32,
    /// First and last page to print (1-based, inclusive).
    pub pages: Option<(u32, u32)>,
    /// Print the mail body as a document too.
    pub body: bool,
}

/// One recognised option word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Color(bool),
    Duplex(bool),
    Body,
    Copies(u32),
    /// `pages=A-B`; `None` when the range is not a valid one (ignored).
    Pages(Option<(u32, u32)>),
}

impl PrintOptions {
    /// Reads options from plus-address parts: recognised words apply, others are ignored.
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut o = Self { copies: 1, ..Self::default() };
        for word in words.into_iter().filter_map(option_word) {
            o.apply(word);
        }
        o
    }

    /// Options from bracketed lists in the subject, overridden by the plus-address ones.
    pub fn from_mail(subject: Option<&str>, plus: &[String]) -> Self {
        let mut o = Self::parse([]);
        for list in bracketed_lists(subject.unwrap_or_default()) {
            for word in list {
                o.apply(word);
            }
        }
        for word in plus.iter().filter_map(|w| option_word(w)) {
            o.apply(word);
        }
        o
    }

    fn apply(&mut self, word: Word) {
        match word {
            Word::Color(c) => self.color = Some(c),
            Word::Duplex(d) => self.duplex = d,
            Word::Body => self.body = true,
            Word::Copies(n) => self.copies = n.clamp(1, MAX_COPIES),
            Word::Pages(range) => self.pages = range,
        }
    }

    /// The options that differ from the defaults, in words for the reply ("duplex, 2 copies").
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.color {
            Some(true) => parts.push("colour".to_owned()),
            Some(false) => parts.push("black and white".to_owned()),
            None => {}
        }
        if self.duplex {
            parts.push("double-sided".to_owned());
        }
        if self.copies > 1 {
            parts.push(format!("{} copies", self.copies));
        }
        if let Some((a, b)) = self.pages {
            parts.push(format!("pages {a}-{b}"));
        }
        parts.join(", ")
    }
}

/// One word as an option (case-insensitive; surrounding punctuation is ignored).
fn option_word(word: &str) -> Option<Word> {
    let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '=' && c != '-').to_ascii_lowercase();
    Some(match w.as_str() {
        "color" | "colour" => Word::Color(true),
        "mono" | "bw" | "grey" | "gray" => Word::Color(false),
        "duplex" | "double-sided" => Word::Duplex(true),
        "simplex" | "single-sided" => Word::Duplex(false),
        "body" => Word::Body,
        _ => {
            if let Some(n) = w.strip_prefix("copies=") {
                Word::Copies(n.parse().ok()?)
            } else if let Some(range) = w.strip_prefix("pages=") {
                Word::Pages(parse_range(range))
            } else {
                return None;
            }
        }
    })
}

/// The option lists in a subject: each `[…]` whose words (separated by spaces, commas or
/// semicolons) are all options; `N copies` counts as one option. Other brackets are ignored.
fn bracketed_lists(subject: &str) -> Vec<Vec<Word>> {
    let mut lists = Vec::new();
    let mut rest = subject;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else { break };
        let inner = &after[..close];
        // A nested `[` starts a new candidate list: "[re: [duplex]]" still works.
        if let Some(nested) = inner.rfind('[') {
            rest = &after[nested..];
            continue;
        }
        if let Some(list) = option_list(inner) {
            lists.push(list);
        }
        rest = &after[close + 1..];
    }
    lists
}

fn option_list(inner: &str) -> Option<Vec<Word>> {
    let tokens: Vec<&str> = inner.split([' ', '\t', ',', ';']).filter(|t| !t.is_empty()).collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let count = tokens[i].parse::<u32>().ok();
        let next = tokens.get(i + 1).map(|t| t.to_ascii_lowercase());
        if let (Some(n), Some("copies" | "copy")) = (count, next.as_deref()) {
            words.push(Word::Copies(n));
            i += 2;
            continue;
        }
        words.push(option_word(tokens[i])?);
        i += 1;
    }
    (!words.is_empty()).then_some(words)
}

fn parse_range(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
    (a >= 1 && b >= a).then_some((a, b))
}

#[cfg(test)]
mod tests;
