//! Redaction by well-known shapes: provider API keys (OpenAI, Anthropic, OpenRouter, Google,
//! GitHub, GitLab, Slack, Stripe, Hugging Face), AWS access key ids and secret keys, JWTs,
//! bearer and basic credentials, private key blocks, `user:pass@` in URLs, Slack/Discord/Teams
//! webhook URLs, secret calendar addresses, and `password = …`-style assignments.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a redacted value becomes.
pub const REDACTED: &str = "[redacted]";

type Replace = fn(&Captures) -> Option<String>;

/// One shape: the pattern, and how a match is rewritten (`None` keeps the match: a shape whose
/// pattern is wider than the secret, checked further in code).
struct Rule {
    re: Regex,
    replace: Replace,
}

fn rule(pattern: &str, replace: Replace) -> Rule {
    Rule { re: Regex::new(pattern).expect("redaction pattern compiles"), replace }
}

fn whole(_: &Captures) -> Option<String> {
    Some(REDACTED.to_string())
}

/// Keeps group 1 (a prefix or a label) and redacts the rest.
fn after_1(c: &Captures) -> Option<String> {
    Some(format!("{}{REDACTED}", &c[1]))
}

/// True for a value that mixes letters and digits (so "password: instead" is left alone).
fn mixed(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit()) && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// A standalone 40-character run that looks like an AWS secret key: both cases and a digit,
/// few slashes, not a path.
fn aws_secret(c: &Captures) -> Option<String> {
    let s = &c[2];
    let slashes = s.bytes().filter(|&b| b == b'/').count();
    let shaped = s.len() == 40
        && s.bytes().any(|b| b.is_ascii_uppercase())
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && s.bytes().any(|b| b.is_ascii_digit())
        && slashes <= 3
        && !s.starts_with('/')
        && !s.ends_with('/');
    shaped.then(|| format!("{}{REDACTED}", &c[1]))
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // Private key blocks (PEM), whole.
        rule(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\z)",
            |_| Some("[redacted private key]".into()),
        ),
        // Webhook URLs (the whole path is the credential).
        rule(r"(?i)(https://hooks\.slack\.com/)(?:services|workflows|triggers)/[A-Za-z0-9/_-]+", after_1),
        rule(r"(?i)(https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/)[0-9]+/[A-Za-z0-9_-]+", after_1),
        rule(r"(?i)(https://[a-z0-9.-]*webhook\.office\.com/)\S+", after_1),
        // Secret calendar addresses: Google's private-… address, iCloud and any webcal feed,
        // Outlook's published calendars.
        rule(r"(?i)(calendar/ical/)[^/\s]+/private-[^/\s]+", |c| {
            Some(format!("{}{REDACTED}/private-{REDACTED}", &c[1]))
        }),
        rule(r"(?i)(webcals?://[^/\s]+/)[^\s]+", after_1),
        rule(r"(?i)(https?://p[0-9]+-caldav\.icloud\.com/)[^\s]+", after_1),
        rule(r"(?i)(https?://outlook\.(?:office365|live)\.com/owa/calendar/)[^\s]+", after_1),
        // user:pass@ in any URL.
        rule(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", |c| Some(format!("{}{REDACTED}@", &c[1]))),
        // JWTs: three base64url segments, the first a JSON header.
        rule(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", whole),
        // Authorization credentials.
        rule(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}", after_1),
        rule(r"(?i)(\bbasic\s+)[A-Za-z0-9+/]{8,}={0,2}", |c| {
            // `Basic` followed by base64 (not prose: "basic setup").
            mixed(&c[0][c[1].len()..]).then(|| format!("{}{REDACTED}", &c[1]))
        }),
        // Provider keys.
        rule(r"\bsk-(?:ant-|or-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}", whole),
        rule(
            r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b|\bwhsec_[A-Za-z0-9]{20,}\b|\bsk_[A-Za-z0-9]{24,}\b",
            whole,
        ),
        rule(r"\bAIza[0-9A-Za-z_-]{30,}|\bya29\.[0-9A-Za-z_-]{20,}|\bGOCSPX-[0-9A-Za-z_-]{20,}", whole),
        rule(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}", whole),
        rule(r"\bglpat-[A-Za-z0-9_-]{20,}", whole),
        rule(r"\bxox[abposre]-[A-Za-z0-9-]{10,}|\bxapp-[0-9]-[A-Za-z0-9-]{10,}", whole),
        rule(r"\bhf_[A-Za-z0-9]{30,}\b", whole),
        // AWS: access key ids, and secret keys by their label or their shape.
        rule(r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b", whole),
        rule(r#"(?i)(aws_?secret_?(?:access_?)?key(?:_?id)?["']?\s*[:=]\s*["']?)[A-Za-z0-9/+]{40}"#, after_1),
        rule(r"(^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])", |c| {
            // Group 0 includes the delimiters around the run; keep them.
            aws_secret(c).map(|r| {
                let end = c.get(2).map(|m| m.end()).unwrap_or(0) - c.get(0).map(|m| m.start()).unwrap_or(0);
                format!("{r}{}", &c[0][end..])
            })
        }),
        // npm tokens.
        rule(r"\bnpm_[A-Za-z0-9]{30,}\b", whole),
        // Azure connection strings and SAS tokens.
        rule(r"(?i)(\b(?:AccountKey|SharedAccessKey)\s*=\s*)[A-Za-z0-9+/=]{16,}", after_1),
        rule(r"(?i)(\bSharedAccessSignature\s*=\s*)[^;\s\x22'`]+", after_1),
        rule(r"(?i)([?&;]sig=)[A-Za-z0-9%+/=_-]{10,}", after_1),
        // curl -u user:pass, --user user:pass (the user kept).
        rule(r#"((?:^|\s)(?:-u|--user)(?:\s+|=)["']?[^\s:"'$-][^\s:"']*:)[^\s"']+"#, after_1),
        // Environment / dotenv assignments: DB_PASSWORD=…, export GH_TOKEN="…", AZURE_KEY='…'.
        rule(
            r#"(\b(?:(?i:[A-Za-z0-9_]*_(?:password|passwd|pass|secret|token|api_?key|access_?key))|[A-Z][A-Z0-9_]*_KEY)\s*=\s*)("[^"\n]*"|'[^'\n]*'|[^\s"'`;,]+)"#,
            |c| {
                let v = c[2].trim_matches(|ch| ch == '"' || ch == '\'');
                let reference = v.starts_with('$') || v.starts_with('=') || v.starts_with('<') || v.starts_with('%');
                (v.len() >= 4 && !reference && !v.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| format!("{}{REDACTED}", &c[1]))
            },
        ),
        // A private key written out as hex.
        rule(r#"(?i)(\bprivate[ _-]?key["']?\s*[:=]\s*["']?)(?:0x)?[0-9a-f]{64}\b"#, after_1),
        // Labelled secrets: password = …, api_key: …, token=… (a value mixing letters and digits).
        rule(
            r#"(?i)(\b(?:password|passwd|pwd|passphrase|secret|client_?secret|api_?key|apikey|access_?token|auth_?token|token)["']?\s*[:=]\s*["']?)([^\s"'`,;]{8,})"#,
            |c| mixed(&c[2]).then(|| format!("{}{REDACTED}", &c[1])),
        ),
    ]
});

/// Replaces credentials of well-known shapes with `[redacted]` (private key blocks with
/// `[redacted private key]`), before text leaves for a judge, an evolver or a trainer.
pub fn redact(text: &str) -> String {
    let mut out: Cow<str> = Cow::Borrowed(text);
    for r in RULES.iter() {
        if !r.re.is_match(&out) {
            continue;
        }
        let replaced = r.re.replace_all(&out, |c: &Captures| (r.replace)(c).unwrap_or_else(|| c[0].to_string()));
        out = Cow::Owned(replaced.into_owned());
    }
    out.into_owned()
}

/// True when `text` holds something [`redact`] would take out.
pub fn contains_secret(text: &str) -> bool {
    redact(text) != text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_well_known_shape_is_redacted() {
        let cases: &[(&str, &str)] = &[
            ("openai sk-proj-AbCdEf0123456789AbCdEf0123456789 ok", "sk-proj-"),
            ("openai sk-live-abcdefghijklmnop1234", "sk-live"),
            ("anthropic sk-ant-api03-AbCdEf0123456789_AbCdEf0123456789-xyz", "sk-ant"),
            ("openrouter sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "sk-or"),
            ("google AIzaSyA-1234567890abcdefghijklmnopqrstu", "AIza"),
            ("oauth ya29.a0AfH6SMBx1234567890abcdefghij", "ya29."),
            ("github ghp_ABCDEFGHIJKLMNOPQRSTUVWX12", "ghp_"),
            ("github github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", "github_pat_"),
            ("gitlab glpat-abcdefghij0123456789", "glpat-"),
            ("slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-"),
            ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_"),
            ("stripe rk_test_4eC39HqLyjWDarjtT1zdp7dc", "rk_test_"),
            ("hf hf_abcdefghijklmnopqrstuvwxyz0123456789", "hf_"),
            ("aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
            ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
            ("the secret is wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY.", "wJalrXUtnFEMI"),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "eyJhbGciOiJIUzI1NiJ9",
            ),
            ("Authorization: Bearer abcdef0123456789abcdef0123456789abcd", "abcdef0123456789"),
            ("Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", "YWxhZGRpbjpvcGVuc2VzYW1l"),
            ("clone https://alice:s3cret@git.example.com/repo.git", "alice:s3cret"),
            ("postgres://app:hunter22@db.internal:5432/prod", "hunter22"),
            ("slack hook https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "T00000000"),
            ("discord https://discord.com/api/webhooks/123456789012345678/AbCdEf-ghIJkl_mnop", "AbCdEf"),
            (
                "gcal https://calendar.google.com/calendar/ical/ada%40x.org/private-0123456789abcdef/basic.ics",
                "private-0123",
            ),
            ("icloud webcal://p52-caldav.icloud.com/published/2/MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0", "MTIzNDU2"),
            ("feed https://p52-caldav.icloud.com/published/2/MTIzNDU2Nzg5MDEy", "MTIzNDU2"),
            ("password = hunter2x", "hunter2x"),
            ("api_key: abc123def456ghi", "abc123def456ghi"),
            ("npm npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm_abcdef"),
            (
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net",
                "Zm9vYmFy",
            ),
            ("Endpoint=sb://x.servicebus.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=abcdEFGH1234", "sv=2022"),
            ("https://acct.blob.core.windows.net/c/f?sv=2022-11-02&se=2026&sp=r&sig=AbCdEf0123456789%2Bxyz%3D", "AbCdEf0123"),
            ("curl -u alice:s3cretpass https://api.example.com", "s3cretpass"),
            ("curl --user alice:hunter-two https://api.example.com", "hunter-two"),
            ("export DB_PASSWORD=correcthorse", "correcthorse"),
            ("DB_PASSWORD=\"two words here\"", "two words"),
            ("export GH_TOKEN='abcdefghijklmnop'", "abcdefghijklmnop"),
            ("MY_APP_SECRET=plainletters", "plainletters"),
            ("OPENAI_API_KEY=whatever-value", "whatever-value"),
            ("STRIPE_KEY = opensesame", "opensesame"),
            ("db_password=opensesame", "opensesame"),
            ("private key: 4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "4c0883a6"),
        ];
        for (text, secret) in cases {
            let r = redact(text);
            assert!(!r.contains(secret), "{text:?} became {r:?}");
            assert!(r.contains(REDACTED), "{text:?} became {r:?}");
            assert!(contains_secret(text));
        }
        let pk = "a\n-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\nb";
        assert_eq!(redact(pk), "a\n[redacted private key]\nb");
        // What stays around a secret is kept.
        assert_eq!(redact("key: sk-live-abcdefghijklmnop1234, then"), "key: [redacted], then");
        assert_eq!(redact("https://bob:pw@h.example/x"), "https://[redacted]@h.example/x");
        assert_eq!(redact("the secret is wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY."), "the secret is [redacted].");
    }

    #[test]
    fn what_the_judge_is_shown_carries_no_secret_of_a_known_shape() {
        let e = crate::judge::Evidence {
            turn_id: 1,
            upstream: "default".into(),
            request: "deploy with AKIAIOSFODNN7EXAMPLE and wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            answer: "Cloned https://bob:hunter22@git.example/r.git; the hook is https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXXXXXX".into(),
            next_message: Some("my calendar is webcal://p52-caldav.icloud.com/published/2/MTIzNDU2Nzg5MDEy".into()),
        };
        let prompt = e.prompt();
        for secret in ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "hunter22", "XXXXXXXXXXXXXXXX", "MTIzNDU2"] {
            assert!(!prompt.contains(secret), "{secret} reached the judge: {prompt}");
        }
    }

    #[test]
    fn ordinary_text_ids_and_hashes_are_left_alone() {
        for text in [
            "plain words stay, even long-words-like-this-one and CamelCaseIdentifiersThatRunOnForAWhile.",
            "the request 123e4567-e89b-12d3-a456-426614174000 failed; retry it",
            "fixed in commit 9264edb1f0a3c5e7d9b2a4c6e8f0a1b3c5d7e9f1 yesterday",
            "see src/components/HeaderComponentWrapper/index.tsx and /usr/local/lib/python3.12/site-packages",
            "a basic setup, bearer of bad news, the password is in the vault, token: see below",
            "https://example.com/docs/guide?page=2#top and mailto:ada@example.org",
            "the sk-learn library and ghp_ prefixes; AKIA alone",
            "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "export DB_PASSWORD=$DB_PASSWORD and MAX_TOKEN=4096, sort_key=name, ls -u foo",
            "curl -u $USER:$PASS https://x.example and if API_KEY == other",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
