//! The one layout and stylesheet of the server's pages: a language
//! switcher, a main landmark, an error summary (role=alert) whose items
//! link to fields whose own errors are tied to them with
//! aria-describedby, and CSS that reads on a phone and keeps AA contrast.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::text::{Lang, Text};

/// Served as /pages.css (the pages' CSP allows styles from 'self' only).
pub const CSS: &str = r#"
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; font-size: 100%;
  line-height: 1.5; color: #1a1a1a; background: #f4f4f2; -webkit-text-size-adjust: 100%; }
body { margin: 0; }
header { background: #ffffff; border-bottom: 1px solid #d4d4d0; }
.bar { max-width: 36rem; margin: 0 auto; padding: 0.75rem 1rem; display: flex; flex-wrap: wrap;
  gap: 0.5rem 1rem; align-items: center; justify-content: space-between; }
.brand { font-weight: 700; font-size: 1.125rem; margin: 0; color: #14532d; }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; margin: 0; padding: 0; }
nav a { color: #1d4ed8; padding: 0.25rem 0.125rem; }
nav a[aria-current] { color: #1a1a1a; font-weight: 700; text-decoration: none; }
main { max-width: 36rem; margin: 1.5rem auto; padding: 1.5rem 1rem; background: #ffffff;
  border: 1px solid #d4d4d0; border-radius: 0.5rem; }
@media (max-width: 37rem) { html { background: #ffffff; } main { margin: 0; border: 0; border-radius: 0; } }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 1rem; }
h2 { font-size: 1.125rem; margin: 0 0 0.5rem; }
p { margin: 0 0 1rem; }
a { color: #1d4ed8; }
.field { margin: 0 0 1.25rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.hint { display: block; color: #4b5563; font-size: 0.9375rem; margin: 0 0 0.25rem; }
input { display: block; width: 100%; font: inherit; padding: 0.625rem 0.75rem; color: #1a1a1a;
  background: #ffffff; border: 2px solid #6b7280; border-radius: 0.375rem; min-height: 2.75rem; }
input[aria-invalid="true"] { border-color: #b91c1c; }
.fixed { font-weight: 600; overflow-wrap: anywhere; }
.field-error { color: #b91c1c; font-weight: 600; margin: 0 0 0.25rem; }
button { font: inherit; font-weight: 600; color: #ffffff; background: #1d4ed8; border: 2px solid #1d4ed8;
  border-radius: 0.375rem; padding: 0.625rem 1.25rem; min-height: 2.75rem; cursor: pointer; width: 100%; }
@media (min-width: 30rem) { button { width: auto; } }
button:hover { background: #1e40af; border-color: #1e40af; }
a:focus-visible, button:focus-visible, input:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
input:focus-visible { border-color: #1d4ed8; }
.summary { border: 3px solid #b91c1c; border-radius: 0.375rem; padding: 1rem; margin: 0 0 1.5rem; }
.summary ul { margin: 0; padding-left: 1.25rem; }
.summary a { color: #b91c1c; font-weight: 600; }
.summary:focus { outline: 3px solid #1d4ed8; outline-offset: 2px; }
.note { color: #4b5563; font-size: 0.9375rem; }
.address { font-family: ui-monospace, "Cascadia Mono", "DejaVu Sans Mono", monospace; background: #f4f4f2;
  border: 1px solid #d4d4d0; border-radius: 0.25rem; padding: 0.5rem 0.75rem; overflow-wrap: anywhere; }
ol { padding-left: 1.5rem; }
li { margin-bottom: 0.5rem; }
select, textarea { display: block; width: 100%; font: inherit; padding: 0.625rem 0.75rem; color: #1a1a1a;
  background: #ffffff; border: 2px solid #6b7280; border-radius: 0.375rem; min-height: 2.75rem; }
textarea { resize: vertical; }
textarea[aria-invalid="true"] { border-color: #b91c1c; }
select:focus-visible, textarea:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; border-color: #1d4ed8; }
.check { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: flex-start; }
.check .field-error { flex-basis: 100%; }
.check input { width: 1.5rem; height: 1.5rem; min-height: 0; margin: 0.125rem 0 0; flex: none; padding: 0; }
.check label { flex: 1; font-weight: 400; margin: 0; }
.hp { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
.text { white-space: pre-line; }
.circles { list-style: none; padding: 0; margin: 1.5rem 0; }
.circles li { border-top: 1px solid #d4d4d0; padding-top: 1rem; margin-bottom: 1rem; }
.circles p { margin: 0 0 0.25rem; }
.filters { border: 1px solid #d4d4d0; border-radius: 0.375rem; padding: 1rem; margin: 0 0 1rem; }
"#;

/// A whole page: `path` is this page's own path, for the language links.
pub fn page(lang: Lang, title: &str, path: &str, body: Markup) -> Markup {
    let t = lang.text();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · Circles" }
                link rel="stylesheet" href="/pages.css";
            }
            body {
                header {
                    div class="bar" {
                        p class="brand" { "Circles" }
                        nav aria-label=(t.language) {
                            ul {
                                @for other in Lang::ALL {
                                    li {
                                        @if other == lang {
                                            a href={ (path) "?lang=" (other.code()) } lang=(other.code()) aria-current="true" { (other.name()) }
                                        } @else {
                                            a href={ (path) "?lang=" (other.code()) } lang=(other.code()) hreflang=(other.code()) { (other.name()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// What a form shows again after a refused post: the values typed (never
/// passwords) and an error per field.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    /// (field id, message), in the order of the form.
    pub fields: Vec<(&'static str, String)>,
    /// An error that belongs to no one field.
    pub general: Option<String>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    pub fn add(&mut self, field: &'static str, message: &str) {
        if !self.fields.iter().any(|(f, _)| *f == field) {
            self.fields.push((field, message.to_string()));
        }
    }

    fn of(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    /// The summary at the top of the form, each item linking to its field.
    pub fn summary(&self, t: &Text) -> Markup {
        if self.is_empty() {
            return html! {};
        }
        html! {
            div class="summary" role="alert" aria-labelledby="error-summary-title" tabindex="-1" {
                h2 id="error-summary-title" { (t.errors_heading) }
                ul {
                    @if let Some(general) = &self.general { li { (general) } }
                    @for (field, message) in &self.fields {
                        li { a href={ "#" (field) } { (message) } }
                    }
                }
            }
        }
    }
}

/// One labelled input, with its hint and error tied to it.
pub struct Field<'a> {
    pub id: &'static str,
    pub label: &'a str,
    pub kind: &'static str,
    pub value: &'a str,
    pub autocomplete: &'static str,
    pub hint: Option<&'a str>,
}

impl Field<'_> {
    pub fn render(&self, errors: &FormErrors) -> Markup {
        let error = errors.of(self.id);
        let hint_id = format!("{}-hint", self.id);
        let error_id = format!("{}-error", self.id);
        let mut described = Vec::new();
        if self.hint.is_some() {
            described.push(hint_id.as_str());
        }
        if error.is_some() {
            described.push(error_id.as_str());
        }
        let described = described.join(" ");
        html! {
            div class="field" {
                label for=(self.id) { (self.label) }
                @if let Some(hint) = self.hint { span class="hint" id=(hint_id) { (hint) } }
                @if let Some(error) = error { p class="field-error" id=(error_id) { (error) } }
                input id=(self.id) name=(self.id) type=(self.kind) value=(self.value) autocomplete=(self.autocomplete)
                    required aria-describedby=[(!described.is_empty()).then_some(described.as_str())]
                    aria-invalid=[error.map(|_| "true")];
            }
        }
    }
}

/// Text with `{name}` placeholders whose values are shown in bold (escaped).
pub fn with_strong(template: &str, values: &[(&str, &str)]) -> Markup {
    let mut out = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('{') {
        let Some((name, after)) = after.split_once('}') else { break };
        out.push_str(&html! { (before) }.into_string());
        match values.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => out.push_str(&html! { strong { (value) } }.into_string()),
            None => out.push_str(&html! { "{" (name) "}" }.into_string()),
        }
        rest = after;
    }
    out.push_str(&html! { (rest) }.into_string());
    PreEscaped(out)
}
