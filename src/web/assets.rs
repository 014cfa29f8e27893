//! The page's files, inside the binary (no CDN, no build step): plain HTML, CSS and ES modules.

use http::StatusCode;

use super::reply::{self, Reply};

const INDEX: &str = include_str!("assets/index.html");
const LOGIN: &str = include_str!("assets/login.html");

/// The static files by name, with their content types.
const FILES: &[(&str, &str, &str)] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("assets/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/app.js"),
    ),
    (
        "list.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/list.js"),
    ),
    (
        "detail.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/detail.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/dom.js"),
    ),
];

/// The page, with this process's CSRF token in its `<meta>` (the token is URL-safe base64).
pub fn index(csrf: &str) -> Reply {
    reply::bytes(
        StatusCode::OK,
        "text/html; charset=utf-8",
        INDEX.replace("{{CSRF}}", csrf),
    )
}

/// The login page (a form, no script), saying so when the last token was wrong.
pub fn login(wrong: bool) -> Reply {
    let note = if wrong {
        "That token is not this inspector's."
    } else {
        ""
    };
    reply::bytes(
        StatusCode::OK,
        "text/html; charset=utf-8",
        LOGIN.replace("{{NOTE}}", note),
    )
}

/// One static file, or 404.
pub fn file(name: &str) -> Reply {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, text)) => reply::bytes(StatusCode::OK, kind, *text),
        None => reply::bytes(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found",
        ),
    }
}
