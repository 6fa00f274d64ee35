//! Print options a patron asks for in the subject line or the plus-address
//! (`color+duplex@…`, "Subject: thesis copies=2 pages=1-3"). Unknown words are ignored; what
//! was applied is reported back in the reply.

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

impl PrintOptions {
    /// Reads options from words (subject words and plus-address parts alike).
    pub fn parse<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut o = Self { copies: 1, ..Self::default() };
        for word in words {
            let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '=' && c != '-').to_ascii_lowercase();
            match w.as_str() {
                "color" | "colour" => o.color = Some(true),
                "mono" | "bw" | "grey" | "gray" => o.color = Some(false),
                "duplex" | "double-sided" => o.duplex = true,
                "simplex" | "single-sided" => o.duplex = false,
                "body" => o.body = true,
                _ => {
                    if let Some(n) = w.strip_prefix("copies=").and_then(|n| n.parse::<u32>().ok()) {
                        o.copies = n.clamp(1, MAX_COPIES);
                    } else if let Some(range) = w.strip_prefix("pages=") {
                        o.pages = parse_range(range);
                    }
                }
            }
        }
        o
    }

    /// Options from the subject line, overridden by the plus-address ones.
    pub fn from_mail(subject: Option<&str>, plus: &[String]) -> Self {
        let words = subject.unwrap_or_default().split_whitespace().chain(plus.iter().map(String::as_str));
        Self::parse(words)
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

fn parse_range(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let (a, b) = (a.parse::<u32>().ok()?, b.parse::<u32>().ok()?);
    (a >= 1 && b >= a).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_and_plus_address_words() {
        let o = PrintOptions::from_mail(Some("Thesis: COPIES=3 duplex pages=2-5, please"), &["color".into()]);
        assert_eq!(o, PrintOptions { color: Some(true), duplex: true, copies: 3, pages: Some((2, 5)), body: false });
        assert_eq!(o.describe(), "colour, double-sided, 3 copies, pages 2-5");
        let none = PrintOptions::from_mail(Some("my essay (final)"), &[]);
        assert_eq!((none.copies, none.describe().as_str()), (1, ""));
        assert_eq!(PrintOptions::parse(["copies=500"]).copies, MAX_COPIES);
        assert_eq!(PrintOptions::parse(["pages=5-2"]).pages, None);
        assert_eq!(PrintOptions::parse(["pages=4"]).pages, Some((4, 4)));
    }
}
