//! The OAuth2 access token for XOAUTH2 (`relay.oauth_token_command`, `mailbox[i].oauth_token_command`):
//! shared by the relay's login and the IMAP mailboxes'. The command is run with
//! `sh -c`, without a shell's input, for at most [`COMMAND_TIMEOUT`]; what it prints is the
//! token ([`parse`]). The token is kept until it expires, a minute early: the `expires_in` of a
//! JSON answer (`{"access_token": "…", "expires_in": 3599}`, as the OAuth2 token endpoints of
//! Microsoft and Google answer), else the `exp` of a JWT (Microsoft's tokens), else
//! [`PLAIN_TOKEN_LIFETIME`]. The token is never logged.

use std::time::Duration;

use base64::Engine;

/// The longest the command may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a token of unknown lifetime is kept (Google's opaque tokens live an hour).
pub const PLAIN_TOKEN_LIFETIME: Duration = Duration::from_secs(300);
/// Tokens are dropped this long before they expire.
const MARGIN_SECS: i64 = 60;

/// Runs `command` (configured under `key`, which error sentences name) and reads its token.
///
/// # Errors
/// A sentence naming what went wrong (never the token).
pub async fn fetch(command: &str, key: &str) -> Result<(String, Duration), String> {
    let run = tokio::process::Command::new("sh").args(["-c", command]).stdin(std::process::Stdio::null()).kill_on_drop(true).output();
    let out = tokio::time::timeout(COMMAND_TIMEOUT, run)
        .await
        .map_err(|_| format!("{key} gave no token within {}s", COMMAND_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{key} could not be run: {e}"))?;
    if !out.status.success() {
        let said: String = String::from_utf8_lossy(&out.stderr).chars().take(300).collect();
        return Err(format!("{key} failed ({}): {}", out.status, said.trim()));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    parse(&String::from_utf8_lossy(&out.stdout), now).map_err(|e| format!("{key} {e}"))
}

/// The token in a command's output and how long to keep it, at Unix time `now`.
///
/// # Errors
/// When the output holds no token (the sentence follows the command's config key).
pub fn parse(output: &str, now: i64) -> Result<(String, Duration), String> {
    let text = output.trim();
    let (token, lifetime) = if text.starts_with('{') {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("printed JSON that does not parse: {e}"))?;
        let token = json["access_token"].as_str().ok_or("printed JSON without access_token")?.to_owned();
        let lifetime = json["expires_in"].as_i64().or_else(|| jwt_expiry(&token).map(|exp| exp - now));
        (token, lifetime)
    } else {
        let token = text.lines().next().unwrap_or_default().trim().to_owned();
        let lifetime = jwt_expiry(&token).map(|exp| exp - now);
        (token, lifetime)
    };
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err("printed no token".into());
    }
    let secs = lifetime.map_or(PLAIN_TOKEN_LIFETIME.as_secs() as i64, |l| l - MARGIN_SECS).max(0);
    Ok((token, Duration::from_secs(secs as u64)))
}

/// The `exp` claim of a JWT (`header.payload.signature`, base64url), if the token is one.
fn jwt_expiry(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?["exp"].as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(exp: i64) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64("{\"alg\":\"RS256\"}"), b64(&format!("{{\"exp\":{exp},\"aud\":\"outlook\"}}")))
    }

    #[test]
    fn a_token_is_kept_until_a_minute_before_it_expires() {
        let now = 1_800_000_000;
        let minutes = |m: u64| Duration::from_secs(m * 60);
        // (what the command printed, the token, how long it is kept)
        for (output, token, kept) in [
            ("ya29.opaque-token\n".to_owned(), "ya29.opaque-token".to_owned(), PLAIN_TOKEN_LIFETIME),
            ("{\"access_token\": \"abc\", \"expires_in\": 3600, \"token_type\": \"Bearer\"}".to_owned(), "abc".to_owned(), minutes(59)),
            (jwt(now + 3600), jwt(now + 3600), minutes(59)),
            (format!("{{\"access_token\": \"{}\"}}", jwt(now + 600)), jwt(now + 600), minutes(9)),
            (jwt(now - 10), jwt(now - 10), Duration::ZERO),
        ] {
            assert_eq!(parse(&output, now).unwrap(), (token, kept), "{output}");
        }
        for bad in ["", "\n", "two words", "{\"token\": \"x\"}", "{not json"] {
            assert!(parse(bad, now).is_err(), "{bad:?}");
        }
    }
}
