//! One queue's reply settings, built once per configuration load: language, time zone and the
//! reply templates (the language's built-in ones, or the queue's own directory).
//!
//! A queue's own templates are compiled and rendered with sample data when the configuration
//! is loaded, so a missing file, a syntax error or a template that dropped the release code
//! line stops the start (or a reload) with the file's name, instead of failing every reply.

use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use minijinja::{Environment, UndefinedBehavior, Value};

use super::lang::Language;
use super::{DocumentLine, ReplyContent};
use crate::config::QueueConfig;

/// The files a queue's `templates` directory must hold.
pub const OVERRIDABLE: [(&str, &str); 2] = [("reply.txt", "reply.txt.j2"), ("reply.html", "reply.html.j2")];

/// Why a queue's reply settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {error}", path.display())]
    Compile { path: PathBuf, error: minijinja::Error },
    #[error("{}: {problem}", path.display())]
    Contract { path: PathBuf, problem: String },
}

/// Language, zone and templates of one queue's mail to patrons.
#[derive(Debug)]
pub struct QueueReplies {
    pub language: Language,
    pub zone: TimeZone,
    env: Environment<'static>,
}

impl QueueReplies {
    /// The built-in templates of `language`, times in UTC.
    pub fn builtin(language: Language) -> Self {
        Self { language, zone: TimeZone::UTC, env: environment(language) }
    }

    /// The settings `queue` asks for (`language`, `timezone`, `templates`).
    ///
    /// # Errors
    /// Every problem, each with the queue key it concerns (`"templates"`; the language and
    /// zone were parsed by `config` at load).
    pub fn load(queue: &QueueConfig) -> Result<Self, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let language = queue.language;
        let zone = queue.timezone.time_zone().clone();
        let mut replies = Self { language, zone, env: environment(language) };
        if let Some(dir) = &queue.templates
            && let Err(e) = replies.override_from(dir)
        {
            problems.push(("templates", e.to_string()));
        }
        if problems.is_empty() { Ok(replies) } else { Err(problems) }
    }

    /// Replaces the reply templates with the files in `dir`, then checks them on a sample.
    fn override_from(&mut self, dir: &Path) -> Result<(), TemplateError> {
        for (name, file) in OVERRIDABLE {
            let path = dir.join(file);
            let source = std::fs::read_to_string(&path).map_err(|source| TemplateError::Read { path: path.clone(), source })?;
            self.env.add_template_owned(name, source).map_err(|error| TemplateError::Compile { path, error })?;
        }
        self.check_sample(dir)
    }

    /// Renders a sample reply: it must render, and its text part must keep the contract (the
    /// code line with this language's label, and every document's name).
    fn check_sample(&self, dir: &Path) -> Result<(), TemplateError> {
        let Some(code) = crate::store::ReleaseCode::parse("12345678") else { return Ok(()) };
        let documents = [
            DocumentLine { name: "sample-essay.pdf".into(), ok: true, pages: 2, ..Default::default() },
            DocumentLine {
                name: "sample-setup.exe".into(),
                reason: "executable program files are not accepted".into(),
                ..Default::default()
            },
        ];
        let content = ReplyContent {
            library: "Sample Library",
            code: Some(&code),
            documents: &documents,
            expires: "Friday 27 November 2026, 14:05 CET",
            in_reply_to: None,
            options: "double-sided",
            message_id: "sample.reply@printgate.invalid",
            commands_address: Some("print+csample@printgate.invalid"),
            extension: "24 hours",
        };
        let (text, _html) = self
            .render_reply(&content, Some("qr.sample@printgate.invalid"))
            .map_err(|error| TemplateError::Compile { path: dir.join("reply.*.j2"), error })?;
        let path = dir.join("reply.txt.j2");
        let line = format!("{}{}", self.language.code_label(), code.display());
        if !text.lines().any(|l| l.trim() == line) {
            return Err(TemplateError::Contract {
                path,
                problem: format!("the text part must have a line {line:?} (as `{{{{ code }}}}`)"),
            });
        }
        if let Some(d) = documents.iter().find(|d| !text.contains(&d.name)) {
            return Err(TemplateError::Contract {
                path,
                problem: format!("the text part must name every document (sample {:?} missing)", d.name),
            });
        }
        Ok(())
    }

    /// The reply's text and HTML parts. `qr_cid` is the Content-ID of the QR image, if any.
    ///
    /// # Errors
    /// Template errors.
    pub fn render_reply(&self, content: &ReplyContent<'_>, qr_cid: Option<&str>) -> Result<(String, String), minijinja::Error> {
        let ctx = minijinja::context! {
            library => content.library,
            code => content.code.map(crate::store::ReleaseCode::display),
            documents => minijinja::value::Serde(content.documents),
            expires => content.expires,
            options => content.options,
            subject => super::subject(content, self.language),
            commands => content.commands_address.is_some(),
            extension => content.extension,
            qr_cid => qr_cid,
            language => self.language.code(),
        };
        Ok((self.env.get_template("reply.txt")?.render(&ctx)?, self.env.get_template("reply.html")?.render(&ctx)?))
    }

    /// A short notice's text (`notice.txt`, built in; not overridable).
    ///
    /// # Errors
    /// Template errors.
    pub fn render_notice(&self, ctx: &Value) -> Result<String, minijinja::Error> {
        self.env.get_template("notice.txt")?.render(ctx)
    }
}

/// The built-in templates of `language`. Semi-strict: printing a variable that does not exist
/// is an error (a typo in a queue's template shows at load), `{% if x %}` on one is not.
fn environment(language: Language) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    for name in ["reply.txt", "reply.html", "notice.txt"] {
        if let Some(source) = language.builtin(name) {
            // Built-in templates are checked by the tests of every language; a failure here
            // would leave the name unset and fail each render with a template error.
            env.add_template(name, source).ok();
        }
    }
    env
}
