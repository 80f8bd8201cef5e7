//! The connection options (webhook URL or OAuth tokens, from flags or the environment) and
//! the client built from them.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use bitrix24::runtime::{Client, Limits, OAuthConfig, OAuthTokens, RetryPolicy, token_callback};
use clap::Args;

use crate::usage;

/// How to reach the portal. Secrets are read from the environment in preference to flags
/// (flags show up in the process list); they are never printed (`Debug` hides them too).
#[derive(Args)]
#[command(next_help_heading = "Connection")]
pub struct Connection {
    /// Incoming-webhook URL, https://<portal>/rest/<user>/<code>/ (the code is a secret).
    #[arg(
        long,
        env = "BITRIX24_WEBHOOK_URL",
        hide_env_values = true,
        global = true
    )]
    pub webhook_url: Option<String>,
    /// OAuth: the portal's REST address (client_endpoint), https://<portal>/rest/.
    #[arg(long, env = "BITRIX24_ENDPOINT", hide_env_values = true, global = true)]
    pub endpoint: Option<String>,
    /// OAuth: a JSON file {"access_token", "refresh_token"}; rotated tokens are written back.
    #[arg(
        long,
        env = "BITRIX24_TOKENS_FILE",
        hide_env_values = true,
        global = true,
        value_name = "PATH"
    )]
    pub tokens_file: Option<PathBuf>,
    /// OAuth: the access token (when there is no tokens file).
    #[arg(
        long,
        env = "BITRIX24_ACCESS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub access_token: Option<String>,
    /// OAuth: the refresh token (when there is no tokens file).
    #[arg(
        long,
        env = "BITRIX24_REFRESH_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub refresh_token: Option<String>,
    /// OAuth: the application's client id.
    #[arg(
        long,
        env = "BITRIX24_CLIENT_ID",
        hide_env_values = true,
        global = true
    )]
    pub client_id: Option<String>,
    /// OAuth: the application's client secret.
    #[arg(
        long,
        env = "BITRIX24_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub client_secret: Option<String>,
    /// OAuth: the authorisation server that refreshes tokens.
    #[arg(
        long,
        env = "BITRIX24_SERVER_ENDPOINT",
        hide_env_values = true,
        default_value = "https://oauth.bitrix.info/rest/",
        global = true
    )]
    pub server_endpoint: String,
    /// The portal's request bucket: burst size (50 on cloud plans, 250 on Enterprise).
    #[arg(long, default_value_t = 50.0, global = true, value_name = "REQUESTS")]
    pub burst: f64,
    /// The portal's request bucket: requests per second it drains (2, or 5 on Enterprise).
    #[arg(long, default_value_t = 2.0, global = true, value_name = "PER_SECOND")]
    pub rate: f64,
    /// How many times a failed read (or a request the portal refused) is repeated.
    #[arg(long, default_value_t = 6, global = true)]
    pub retries: u32,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "***");
        f.debug_struct("Connection")
            .field("webhook_url", &hidden(&self.webhook_url))
            .field("endpoint", &self.endpoint)
            .field("tokens_file", &self.tokens_file)
            .field("access_token", &hidden(&self.access_token))
            .field("refresh_token", &hidden(&self.refresh_token))
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("server_endpoint", &self.server_endpoint)
            .field("burst", &self.burst)
            .field("rate", &self.rate)
            .field("retries", &self.retries)
            .finish()
    }
}

impl Connection {
    /// A client for the configured portal.
    pub fn client(&self) -> anyhow::Result<Client> {
        let builder = if let Some(url) = &self.webhook_url {
            Client::webhook(url)
        } else if let Some(endpoint) = &self.endpoint {
            Client::oauth(self.oauth(endpoint)?)
        } else {
            return Err(usage(
                "no portal given: set BITRIX24_WEBHOOK_URL (or --webhook-url), or the OAuth \
                 options (--endpoint with --tokens-file or --access-token/--refresh-token, \
                 --client-id, --client-secret)",
            ));
        };
        let client = builder
            .methods(bitrix24::api::registry::METHODS)
            .limits(Limits::custom(self.burst, self.rate))
            .retry(RetryPolicy::new(
                self.retries,
                Duration::from_millis(200),
                Duration::from_secs(10),
            ))
            .build()
            .context("cannot set up the connection")?;
        Ok(client)
    }

    fn oauth(&self, endpoint: &str) -> anyhow::Result<OAuthConfig> {
        let missing = |what: &str| usage(format!("OAuth needs {what}"));
        let client_id = self
            .client_id
            .clone()
            .ok_or_else(|| missing("--client-id"))?;
        let client_secret =
            (self.client_secret.clone()).ok_or_else(|| missing("--client-secret"))?;
        let (tokens, on_refresh) = match &self.tokens_file {
            Some(path) => {
                let tokens = read_tokens(path)?;
                let path = path.clone();
                let save = token_callback(move |t: OAuthTokens| {
                    let path = path.clone();
                    async move { write_tokens(&path, &t) }
                });
                (tokens, Some(save))
            }
            None => {
                let access = (self.access_token.clone())
                    .ok_or_else(|| missing("--access-token or --tokens-file"))?;
                let refresh = (self.refresh_token.clone())
                    .ok_or_else(|| missing("--refresh-token or --tokens-file"))?;
                let tokens = OAuthTokens {
                    access_token: access,
                    refresh_token: refresh,
                    expires: None,
                };
                (tokens, None)
            }
        };
        Ok(OAuthConfig {
            client_endpoint: endpoint.to_owned(),
            server_endpoint: self.server_endpoint.clone(),
            client_id,
            client_secret,
            tokens,
            on_refresh,
        })
    }
}

fn read_tokens(path: &std::path::Path) -> anyhow::Result<OAuthTokens> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the tokens file {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: not JSON (line {})", path.display(), e.line())))?;
    let field = |name: &str| {
        value[name].as_str().map(str::to_owned).ok_or_else(|| {
            usage(format!(
                "{}: `{name}` is missing or not a string",
                path.display()
            ))
        })
    };
    let tokens = OAuthTokens {
        access_token: field("access_token")?,
        refresh_token: field("refresh_token")?,
        expires: value["expires"].as_i64(),
    };
    crate::secrets::add(&tokens.access_token);
    crate::secrets::add(&tokens.refresh_token);
    Ok(tokens)
}

/// Writes rotated tokens beside the file, then renames it over, so a crash never leaves
/// half a file; readable by the owner only.
fn write_tokens(path: &std::path::Path, t: &OAuthTokens) -> std::io::Result<()> {
    crate::secrets::add(&t.access_token);
    crate::secrets::add(&t.refresh_token);
    let value = serde_json::json!({
        "access_token": t.access_token,
        "refresh_token": t.refresh_token,
        "expires": t.expires,
    });
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        std::io::Write::write_all(&mut f, value.to_string().as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        c: Connection,
    }

    #[test]
    fn debug_names_no_secret() {
        let cli = Cli::parse_from([
            "b24",
            "--webhook-url",
            "https://x.example/rest/1/hookcode123/",
            "--access-token",
            "accesstoken123",
            "--refresh-token",
            "refreshtoken123",
            "--client-secret",
            "clientsecret123",
        ]);
        let text = format!("{cli:?}");
        for s in [
            "hookcode123",
            "accesstoken123",
            "refreshtoken123",
            "clientsecret123",
        ] {
            assert!(!text.contains(s), "{text}");
        }
        assert!(text.contains("***"));
    }
}
