//! Every secret the tool was given, so that no message it prints can contain one: the
//! webhook code, OAuth tokens and the client secret are replaced by `***` in anything
//! written to stderr (the runtime already keeps them out of its errors; this is the second
//! line of defence, for text that echoes what a user typed).

use std::sync::Mutex;

use crate::connect::Connection;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret (ignored when too short to be one: masking it would garble text).
pub fn add(secret: &str) {
    if secret.len() < 6 {
        return;
    }
    let mut s = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !s.iter().any(|k| k == secret) {
        s.push(secret.to_owned());
        // Longest first, so that a secret containing another is masked whole.
        s.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// Remembers the secrets among the connection options.
pub fn remember(c: &Connection) {
    if let Some(url) = &c.webhook_url {
        add(url);
        // `…/rest/<user>/<code>/`: the code is the secret.
        if let Some(code) = url.trim_end_matches('/').rsplit('/').next() {
            add(code);
        }
    }
    for s in [&c.access_token, &c.refresh_token, &c.client_secret]
        .into_iter()
        .flatten()
    {
        add(s);
    }
}

/// `text` with every remembered secret replaced by `***`.
pub fn redact(text: &str) -> String {
    let s = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_owned();
    for secret in s.iter() {
        out = out.replace(secret.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_longest_first() {
        add("abcdef123456");
        add("abcdef");
        assert_eq!(redact("x abcdef123456 y abcdef z"), "x *** y *** z");
        add("abc");
        assert_eq!(redact("abc"), "abc");
    }
}
