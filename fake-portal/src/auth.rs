//! Credentials: the incoming webhook's user and code, OAuth access tokens that expire, and
//! the `/oauth/token/` refresh that rotates the refresh token.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::{Config, FakeError, FakePortal, Portal, State, php, unix_now};

impl FakePortal {
    /// Issues a fresh access token and refresh token.
    pub fn issue_tokens(&self) -> (String, String) {
        let mut s = self.portal.lock();
        issue(&mut s, &self.portal.config)
    }

    /// Makes every access token issued so far expire now.
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        for t in self.portal.lock().access.values_mut() {
            *t = now;
        }
    }
}

pub(crate) fn issue_for(s: &mut State, config: &Config) -> (String, String) {
    issue(s, config)
}

fn issue(s: &mut State, config: &Config) -> (String, String) {
    let n = s.access.len() + s.refresh.len() + 1;
    let salt = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let access = format!("access{n:04}x{salt:08x}");
    let refresh = format!("refresh{n:04}y{salt:08x}");
    s.access
        .insert(access.clone(), Instant::now() + config.access_ttl);
    s.refresh.insert(refresh.clone(), ());
    (access, refresh)
}

impl Portal {
    pub(crate) fn authenticate(
        &self,
        s: &mut State,
        webhook: Option<(&str, &str)>,
        params: &Map<String, Value>,
    ) -> Result<(), FakeError> {
        match webhook {
            Some((user, token)) => {
                if user == self.config.webhook_user.to_string()
                    && token == self.config.webhook_token
                {
                    Ok(())
                } else {
                    Err(FakeError::new(
                        401,
                        "NO_AUTH_FOUND",
                        "Wrong authorization data",
                    ))
                }
            }
            None => {
                let Some(Value::String(token)) = params.get("auth") else {
                    return Err(FakeError::new(
                        401,
                        "NO_AUTH_FOUND",
                        "Wrong authorization data",
                    ));
                };
                match s.access.get(token) {
                    Some(expires) if *expires > Instant::now() => Ok(()),
                    Some(_) => Err(FakeError::new(
                        401,
                        "expired_token",
                        "The access token provided has expired.",
                    )),
                    None => Err(FakeError::new(
                        401,
                        "invalid_token",
                        "Unable to get application by token",
                    )),
                }
            }
        }
    }

    /// `GET /oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token`:
    /// the new tokens, or the error to answer with.
    pub(crate) fn token(&self, query: &str, host: &str) -> Result<Value, FakeError> {
        let q = php::parse_query(query);
        let get = |k: &str| q.get(k).and_then(Value::as_str).unwrap_or("");
        if get("client_id") != self.config.client_id
            || get("client_secret") != self.config.client_secret
        {
            return Err(FakeError::new(
                401,
                "invalid_client",
                "invalid client credentials",
            ));
        }
        let mut s = self.lock();
        let grant = match get("grant_type") {
            "refresh_token" => s.refresh.remove(get("refresh_token")).is_some(),
            "authorization_code" => {
                let before = s.codes.len();
                let code = get("code");
                s.codes.retain(|c| c != code);
                s.codes.len() < before
            }
            _ => {
                return Err(FakeError::new(
                    400,
                    "invalid_request",
                    "unsupported grant_type",
                ));
            }
        };
        if !grant {
            return Err(FakeError::new(
                400,
                "invalid_grant",
                "Invalid refresh token",
            ));
        }
        let (access, refresh) = issue(&mut s, &self.config);
        if get("grant_type") == "refresh_token" {
            s.stats.refreshes += 1;
        }
        let ttl = self.config.access_ttl.as_secs();
        Ok(json!({
            "access_token": access,
            "refresh_token": refresh,
            "expires": unix_now() as u64 + ttl,
            "expires_in": ttl,
            "scope": "app",
            "domain": host,
            "server_endpoint": format!("http://{host}/rest/"),
            "client_endpoint": format!("http://{host}/rest/"),
            "member_id": s.member_id.clone(),
            "user_id": 1,
            "status": "L",
        }))
    }
}
