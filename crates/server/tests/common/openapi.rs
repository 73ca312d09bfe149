//! Every answer a test gets through `RawClient` is checked against the
//! OpenAPI document the server publishes (docs/openapi.json): its status
//! must be documented for the operation, and its JSON body must match the
//! documented schema. A server that drifts from its document fails the
//! test that saw it drift.

use std::sync::OnceLock;

use serde_json::{json, Value};

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(include_str!("../../../../docs/openapi.json")).expect("openapi.json is JSON")
    })
}

/// The documented path a request path matches (`/v1/tokens/abc` matches
/// `/v1/tokens/{id}`).
fn documented_path(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or(path);
    let wanted: Vec<&str> = path.split('/').collect();
    document()["paths"].as_object()?.keys().map(String::as_str).find(|template| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == wanted.len()
            && parts.iter().zip(&wanted).all(|(t, w)| (t.starts_with('{') && !w.is_empty()) || t == w)
    })
}

/// Follow `{"$ref": "#/components/..."}` once.
fn resolve(value: &'static Value) -> &'static Value {
    match value["$ref"].as_str() {
        Some(reference) => document()
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("openapi.json: dangling reference {reference}")),
        None => value,
    }
}

/// Check one answer. Paths the document does not describe (the JSON 404 of
/// an unknown endpoint) are not checked here; their tests check them.
pub fn check_response(method: &str, path: &str, status: u16, body: &Value) {
    let Some(template) = documented_path(path) else { return };
    let operation = &document()["paths"][template][method.to_lowercase()];
    if operation.is_null() {
        // 405 of a method the path does not have: a JSON error like any other.
        assert!(status == 405 || status == 404, "{method} {path}: {status} for an undocumented method");
        return;
    }
    let responses = &operation["responses"];
    let response = responses.get(status.to_string()).or_else(|| responses.get("default")).unwrap_or_else(|| {
        panic!("{method} {template}: status {status} is not documented in openapi.json (body: {body})")
    });
    let response = resolve(response);
    let Some(schema) = response["content"]["application/json"].get("schema") else {
        return;
    };
    // The schema with the document's components beside it, so that its
    // `#/components/...` references resolve.
    let root = json!({ "allOf": [schema], "components": document()["components"] });
    let validator = jsonschema::draft202012::new(&root).expect("openapi.json schemas compile");
    let errors: Vec<String> =
        validator.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).take(5).collect();
    assert!(
        errors.is_empty(),
        "{method} {template} answered {status} outside openapi.json:\n{}\nbody: {body}",
        errors.join("\n")
    );
}
