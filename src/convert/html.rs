//! HTML made safe to render: no scripts, no remote fetches.
//!
//! Owns the HTML allow-list applied before LibreOffice sees an HTML document or body: scripts,
//! styles blocks, frames, forms and objects are removed with their content; images survive only
//! as inline `data:` URLs (remote and `cid:` images are dropped, which also stops tracking
//! pixels); inline styles survive only without `url(…)`/`@import`/`expression(…)`.

use std::borrow::Cow;
use std::collections::HashSet;

/// The sanitised document, wrapped as a complete UTF-8 HTML page.
pub fn sanitise(html: &str) -> String {
    let clean = ammonia::Builder::default()
        .url_schemes(HashSet::from(["http", "https", "mailto", "data"]))
        .add_generic_attributes(["style", "bgcolor", "color", "align", "dir", "lang", "width", "height", "border"])
        .add_tags(["font", "center"])
        .attribute_filter(keep_attribute)
        .clean(html)
        .to_string();
    format!("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>{clean}</body></html>\n")
}

fn keep_attribute<'a>(element: &str, attribute: &str, value: &'a str) -> Option<Cow<'a, str>> {
    let lower = value.to_ascii_lowercase();
    match (element, attribute) {
        ("img", "src") if !lower.trim_start().starts_with("data:image/") => None,
        (_, "style") if ["url(", "@import", "expression(", "image-set("].iter().any(|bad| lower.contains(bad)) => None,
        (_, "background") => None,
        _ => Some(Cow::Borrowed(value)),
    }
}

#[cfg(test)]
mod tests {
    use super::sanitise;

    #[test]
    fn scripts_and_remote_content_are_removed() {
        let out = sanitise(
            r#"<html><head><script>document.write("SCRIPT-RAN")</script><link rel=stylesheet href="http://192.0.2.1/x.css">
            <style>@import url(http://192.0.2.1/y.css);</style></head><body onload="alert(1)">
            <h1>Title</h1><img src="http://192.0.2.1/track.png"><img src="cid:logo@x">
            <p style="background:url(http://192.0.2.1/bg.png)">styled</p><table><tr><td bgcolor="red">cell</td></tr></table>
            <iframe src="http://192.0.2.1/"></iframe><img src="data:image/png;base64,iVBORw0KGgo=" alt="inline"></body></html>"#,
        );
        for gone in ["SCRIPT-RAN", "192.0.2.1", "cid:", "onload", "<iframe", "<script", "@import"] {
            assert!(!out.contains(gone), "{gone:?} survived: {out}");
        }
        for kept in ["<h1>Title</h1>", "styled", "bgcolor=\"red\"", "data:image/png", "<meta charset=\"utf-8\">"] {
            assert!(out.contains(kept), "{kept:?} was lost: {out}");
        }
    }

    #[test]
    fn harmless_inline_styles_stay() {
        let out = sanitise(r#"<p style="color: #c00; font-weight: bold">red</p>"#);
        assert!(out.contains("color: #c00"), "{out}");
    }
}
