//! Tokens for training: the base model's chat template (rendered with minijinja, the way
//! Hugging Face renders it) and its tokenizer (the `tokenizers` crate), loaded from a folder
//! holding `tokenizer.json` and `tokenizer_config.json` (and optionally `chat_template.jinja`).
//!
//! A served turn becomes `prompt tokens + response tokens`. The response tokens are the ones the
//! policy actually sampled: the serving endpoint's `logprobs` give their text, we re-tokenize
//! that text and insist it splits into exactly the same pieces. Any difference drops the turn
//! with a reason; nothing is padded or truncated to fit.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Why tokens could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("tokenizer files in {dir}: {reason}")]
    Files { dir: PathBuf, reason: String },
    #[error("the chat template failed: {0}")]
    Template(String),
    #[error("tokenizing failed: {0}")]
    Tokenize(String),
}

pub use crate::transcript::Sampled;

/// The model's response as training tokens, aligned with their sampling logprobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub tokens: Vec<u32>,
    pub logprobs: Vec<f32>,
}

/// A chat template and tokenizer pair for one base model.
pub struct Tokens {
    tokenizer: tokenizers::Tokenizer,
    env: minijinja::Environment<'static>,
    bos: String,
    eos: String,
    /// Where the files came from, for messages.
    pub source: PathBuf,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("source", &self.source).finish_non_exhaustive()
    }
}

/// The files a tokenizer folder must hold.
pub const REQUIRED_FILES: [&str; 2] = ["tokenizer.json", "tokenizer_config.json"];
/// Newer models keep the template in its own file.
pub const TEMPLATE_FILE: &str = "chat_template.jinja";

impl Tokens {
    /// Loads `dir/tokenizer.json`, `dir/tokenizer_config.json` and, if present,
    /// `dir/chat_template.jinja` (which wins over the config's `chat_template`).
    pub fn load(dir: &Path) -> Result<Self, TokenError> {
        let files = |reason: String| TokenError::Files { dir: dir.to_path_buf(), reason };
        let tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| files(format!("tokenizer.json: {e}")))?;
        let cfg_text = std::fs::read_to_string(dir.join("tokenizer_config.json"))
            .map_err(|e| files(format!("tokenizer_config.json: {e}")))?;
        let cfg: Value =
            serde_json::from_str(&cfg_text).map_err(|e| files(format!("tokenizer_config.json is not JSON: {e}")))?;
        let template = match std::fs::read_to_string(dir.join(TEMPLATE_FILE)) {
            Ok(t) => t,
            Err(_) => template_from_config(&cfg).ok_or_else(|| {
                files("no chat template: tokenizer_config.json has no `chat_template` and there is no chat_template.jinja".into())
            })?,
        };
        let special = |k: &str| match cfg.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Object(o)) => o.get("content").and_then(Value::as_str).unwrap_or_default().to_string(),
            _ => String::new(),
        };
        let mut t = Self::new(tokenizer, template, special("bos_token"), special("eos_token"))?;
        t.source = dir.to_path_buf();
        Ok(t)
    }

    /// From parts (tests build small ones).
    pub fn new(
        tokenizer: tokenizers::Tokenizer,
        template: String,
        bos: String,
        eos: String,
    ) -> Result<Self, TokenError> {
        let mut env = minijinja::Environment::new();
        // Hugging Face renders with trim_blocks and lstrip_blocks, and Python string methods.
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| TokenError::Template(e.to_string()))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        });
        env.add_filter("tojson", tojson);
        env.add_function("strftime_now", |fmt: String| jiff::Zoned::now().strftime(&fmt).to_string());
        env.add_template_owned("chat", template).map_err(|e| TokenError::Template(e.to_string()))?;
        Ok(Self { tokenizer, env, bos, eos, source: PathBuf::new() })
    }

    /// Renders a conversation. OpenAI content arrays become their text; `tools` are passed as
    /// the template expects them (OpenAI's `{type, function}` shape).
    pub fn render(
        &self,
        messages: &[Value],
        tools: Option<&Value>,
        add_generation_prompt: bool,
    ) -> Result<String, TokenError> {
        let messages: Vec<Value> = messages.iter().map(normalise_message).collect();
        let tmpl = self.env.get_template("chat").map_err(|e| TokenError::Template(e.to_string()))?;
        tmpl.render(minijinja::context! {
            messages => minijinja::value::Serde(&messages),
            tools => minijinja::value::Serde(tools.filter(|t| t.as_array().is_some_and(|a| !a.is_empty()))),
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos,
            eos_token => &self.eos,
        })
        .map_err(|e| TokenError::Template(format!("{e:#}")))
    }

    /// Token ids of already-rendered text (special tokens in the text are recognised; none are
    /// added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenError> {
        self.tokenizer
            .encode_fast(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| TokenError::Tokenize(e.to_string()))
    }

    /// One token's text.
    pub fn piece(&self, id: u32) -> String {
        self.tokenizer.decode(&[id], false).unwrap_or_default()
    }

    /// The end-of-turn token, when the config names one the vocabulary has.
    pub fn eos_id(&self) -> Option<u32> {
        self.tokenizer.token_to_id(&self.eos)
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.tokenizer.token_to_id(token)
    }

    /// The sampled response as token ids with their logprobs. Endpoints that report ids
    /// (`token_id:123`, vLLM's `return_tokens_as_token_ids`) are taken as they are; otherwise
    /// the sampled text is re-tokenized and must split into the same pieces. Trailing special
    /// tokens (end of turn) are matched by name.
    pub fn align(&self, sampled: &[Sampled]) -> Result<Response, String> {
        if sampled.is_empty() {
            return Err("the endpoint returned no sampled tokens".into());
        }
        if let Some(ids) =
            sampled.iter().map(|s| s.token.strip_prefix("token_id:")?.parse::<u32>().ok()).collect::<Option<Vec<u32>>>()
        {
            return Ok(Response { tokens: ids, logprobs: sampled.iter().map(|s| s.logprob as f32).collect() });
        }
        // Special tokens at the end (e.g. `<|im_end|>`) are not part of the text.
        let mut body = sampled.len();
        let mut tail = Vec::new();
        while body > 0 {
            let s = &sampled[body - 1];
            match self.special_id(&s.token) {
                Some(id) => {
                    tail.push(id);
                    body -= 1;
                }
                None => break,
            }
        }
        tail.reverse();
        let mut raw = Vec::new();
        for s in &sampled[..body] {
            raw.extend_from_slice(s.bytes.as_deref().unwrap_or(s.token.as_bytes()));
        }
        let text = String::from_utf8(raw).map_err(|_| "the sampled bytes are not valid UTF-8".to_string())?;
        let mut ids = self.encode(&text).map_err(|e| e.to_string())?;
        if ids.len() != body {
            return Err(format!(
                "re-tokenizing the sampled text gives {} tokens, the endpoint sampled {body}: the tokenizer does not match the served model",
                ids.len()
            ));
        }
        for (i, (id, s)) in ids.iter().zip(&sampled[..body]).enumerate() {
            let ours = self.piece(*id);
            let comparable = !ours.contains('\u{FFFD}') && !s.token.contains('\u{FFFD}') && s.bytes.is_none();
            if comparable && ours != s.token {
                return Err(format!("token {i} differs: sampled {:?}, re-tokenized {:?}", s.token, ours));
            }
        }
        ids.extend(tail);
        Ok(Response { tokens: ids, logprobs: sampled.iter().map(|s| s.logprob as f32).collect() })
    }

    fn special_id(&self, token: &str) -> Option<u32> {
        let added = self.tokenizer.get_added_vocabulary();
        let id = added.token_to_id(token, self.tokenizer.get_model())?;
        added.is_special_token(token).then_some(id)
    }
}

/// `tojson` as Hugging Face defines it for chat templates: Python's `json.dumps` (", " and ": "
/// between items, or one item per line with `indent`), keys in their original order, nothing
/// escaped for HTML (minijinja's own filter escapes `<`, `>`, `&` and `'`, which changes the
/// tokens a model sees).
fn tojson(value: minijinja::Value, kwargs: minijinja::value::Kwargs) -> Result<String, minijinja::Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    // `ensure_ascii=False` is what templates pass; it is the only behaviour here.
    let _: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let mut json = serde_json::to_value(&value)
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))?;
    if sort_keys == Some(true) {
        sort(&mut json);
    }
    let mut out = Vec::new();
    let written = match indent {
        Some(n) => {
            let pad = " ".repeat(n);
            let mut ser = serde_json::Serializer::with_formatter(
                &mut out,
                serde_json::ser::PrettyFormatter::with_indent(pad.as_bytes()),
            );
            serde::Serialize::serialize(&json, &mut ser)
        }
        None => serde::Serialize::serialize(&json, &mut serde_json::Serializer::with_formatter(&mut out, PythonJson)),
    };
    written.map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))?;
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

fn sort(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.sort_keys();
            m.values_mut().for_each(sort);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(sort),
        _ => {}
    }
}

/// `json.dumps`'s default separators.
struct PythonJson;

impl serde_json::ser::Formatter for PythonJson {
    fn begin_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
}

/// `chat_template` from `tokenizer_config.json`: a string, or a list of named templates (the
/// one named `default`, else the first).
fn template_from_config(cfg: &Value) -> Option<String> {
    match cfg.get("chat_template")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(list) => list
            .iter()
            .find(|t| t["name"] == "default")
            .or_else(|| list.first())
            .and_then(|t| t["template"].as_str())
            .map(str::to_string),
        _ => None,
    }
}

/// Content arrays become text; everything else (tool calls, names, ids) passes through.
fn normalise_message(m: &Value) -> Value {
    let mut m = m.clone();
    if let Some(obj) = m.as_object_mut() {
        if let Some(Value::Array(_)) = obj.get("content") {
            let text = crate::transcript::content_text(obj.get("content"));
            obj.insert("content".into(), Value::String(text));
        }
        if obj.get("content").is_some_and(Value::is_null) {
            obj.insert("content".into(), Value::String(String::new()));
        }
    }
    m
}

/// Where a base model's tokenizer files are cached: `<root>/<owner>--<name>`.
pub fn cache_dir(root: &Path, repo: &str) -> PathBuf {
    root.join(repo.replace('/', "--"))
}

/// Downloads the tokenizer files of `repo` from a Hugging Face-compatible hub into `dir`
/// (once: files already there are kept). `HF_TOKEN` is sent for gated models.
pub async fn download(http: &reqwest::Client, hub: &str, repo: &str, dir: &Path) -> Result<(), TokenError> {
    let files = |reason: String| TokenError::Files { dir: dir.to_path_buf(), reason };
    std::fs::create_dir_all(dir).map_err(|e| files(format!("cannot create: {e}")))?;
    let token = std::env::var("HF_TOKEN").ok().filter(|t| !t.trim().is_empty());
    for (name, required) in [(REQUIRED_FILES[0], true), (REQUIRED_FILES[1], true), (TEMPLATE_FILE, false)] {
        let path = dir.join(name);
        if path.exists() {
            continue;
        }
        let url = format!("{}/{}/resolve/main/{}", hub.trim_end_matches('/'), repo, name);
        let mut req = http.get(&url);
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| files(format!("downloading {url}: {e}")))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND && !required {
            continue;
        }
        if !status.is_success() {
            let hint = if status.as_u16() == 401 || status.as_u16() == 403 {
                " (a gated model: set HF_TOKEN, or put the files in [train] tokenizer_dir)"
            } else {
                ""
            };
            return Err(files(format!("downloading {url}: HTTP {status}{hint}")));
        }
        let bytes = resp.bytes().await.map_err(|e| files(format!("downloading {url}: {e}")))?;
        crate::home::write_atomic(&path, &bytes, 0o644).map_err(|e| files(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A word-level tokenizer with ChatML specials, built in memory.
    pub(crate) fn chatml() -> Tokens {
        let vocab: Vec<(&str, u32)> = [
            "[UNK]",
            "<|im_start|>",
            "<|im_end|>",
            "system",
            "user",
            "assistant",
            "\n",
            "hello",
            "world",
            "there",
            "hi",
        ]
        .iter()
        .enumerate()
        .map(|(i, w)| (*w, i as u32))
        .collect();
        let json = serde_json::json!({
            "version": "1.0",
            "added_tokens": [
                {"id": 1, "content": "<|im_start|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
                {"id": 2, "content": "<|im_end|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
            ],
            "normalizer": null,
            "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\n| ?[a-z]+|[^a-z\\n ]+"}, "behavior": "Isolated", "invert": false},
            "post_processor": null,
            "decoder": null,
            "model": {"type": "WordLevel", "vocab": vocab.iter().map(|(w, i)| (w.to_string(), *i)).collect::<std::collections::BTreeMap<_, _>>(), "unk_token": "[UNK]"}
        });
        let tok = tokenizers::Tokenizer::from_bytes(json.to_string()).expect("tokenizer");
        let template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
        Tokens::new(tok, template.into(), String::new(), "<|im_end|>".into()).unwrap()
    }

    #[test]
    fn renders_and_tokenizes_chatml() {
        let t = chatml();
        let msgs = vec![serde_json::json!({"role": "user", "content": [{"type": "text", "text": "hello"}]})];
        let text = t.render(&msgs, None, true).unwrap();
        assert_eq!(text, "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n");
        assert_eq!(t.encode(&text).unwrap(), vec![1, 4, 6, 7, 2, 6, 1, 5, 6]);
    }

    #[test]
    fn sampled_tokens_align_or_are_refused() {
        let t = chatml();
        let s = |tok: &str, lp: f64| Sampled { token: tok.into(), logprob: lp, bytes: None };
        let ok = t.align(&[s("hello", -0.1), s(" world", -0.2), s("<|im_end|>", -0.01)]);
        assert!(ok.is_err(), "' world' is not one word-level token here: {ok:?}");
        let ok = t.align(&[s("hello", -0.1), s("\n", -0.2), s("<|im_end|>", -0.01)]).unwrap();
        assert_eq!(ok.tokens, vec![7, 6, 2]);
        assert_eq!(ok.logprobs, vec![-0.1, -0.2, -0.01]);
        let ids = t.align(&[s("token_id:7", -0.5)]).unwrap();
        assert_eq!(ids.tokens, vec![7]);
        let merged = t.align(&[s("hel", -0.1), s("lo", -0.2)]).unwrap_err();
        assert!(merged.contains("1 tokens, the endpoint sampled 2"), "{merged}");
    }

    /// The Jinja features Hugging Face chat templates lean on (namespace, reverse slicing, loop
    /// variables, Python string methods, `tojson`, tools, tool calls, whitespace control) in a
    /// template of our own, checked against the exact text it must produce.
    #[test]
    fn hugging_face_template_features_render() {
        let tok = chatml().tokenizer;
        let template = r##"{%- if tools %}<|im_start|>system
{{ "Tools:" }}{% for t in tools %} {{ t.function.name }}={{ t.function.parameters | tojson }}{% endfor %}<|im_end|>
{% endif %}
{%- set ns = namespace(last_user=-1) %}
{%- for m in messages[::-1] %}{% if ns.last_user == -1 and m.role == "user" %}{% set ns.last_user = messages|length - 1 - loop.index0 %}{% endif %}{% endfor %}
{%- for m in messages %}
{%- if m.role == "assistant" and m.tool_calls %}<|im_start|>assistant
{{ m.content.strip() }}{% for c in m.tool_calls %}<call>{{ c.function.name }} {{ c.function.arguments }}</call>{% endfor %}<|im_end|>
{% elif m.content.startswith("#") %}<|im_start|>{{ m.role }}
{{ m.content.lstrip("# ").upper() }}<|im_end|>
{% else %}<|im_start|>{{ m.role }}{% if loop.index0 == ns.last_user %} (last){% endif %}
{{ m.content | trim }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"##;
        let t = Tokens::new(tok, template.into(), String::new(), "<|im_end|>".into()).unwrap();
        let msgs = vec![
            serde_json::json!({"role": "system", "content": "# be brief"}),
            serde_json::json!({"role": "user", "content": " hi "}),
            serde_json::json!({"role": "assistant", "content": " ok ", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "read", "arguments": "{\"p\":1}"}}]}),
            serde_json::json!({"role": "tool", "content": null, "tool_call_id": "c1"}),
            serde_json::json!({"role": "user", "content": "hello"}),
        ];
        let tools =
            serde_json::json!([{"type": "function", "function": {"name": "read", "parameters": {"type": "object"}}}]);
        let out = t.render(&msgs, Some(&tools), true).unwrap();
        assert_eq!(
            out,
            // As Jinja2 renders it for Hugging Face: `tojson` spaces like Python's json.dumps, and
            // trim_blocks drops the newline right after `{% endif %}`.
            "<|im_start|>system\nTools: read={\"type\": \"object\"}<|im_end|>\n\
             <|im_start|>system\nBE BRIEF<|im_end|>\n\
             <|im_start|>userhi<|im_end|>\n\
             <|im_start|>assistant\nok<call>read {\"p\":1}</call><|im_end|>\n\
             <|im_start|>tool<|im_end|>\n\
             <|im_start|>user (last)hello<|im_end|>\n\
             <|im_start|>assistant\n"
        );
    }

    #[test]
    fn tojson_matches_python_json_dumps() {
        let tok = chatml().tokenizer;
        let t = Tokens::new(
            tok,
            "{{ messages[0] | tojson }}|{{ messages[0].c | tojson(indent=2) }}|{{ messages[0] | tojson(sort_keys=true, ensure_ascii=false) }}".into(),
            String::new(),
            String::new(),
        )
        .unwrap();
        let msgs = vec![serde_json::json!({"z": 1, "a": "x < y & 'q' — é", "c": [1, 2]})];
        assert_eq!(
            t.render(&msgs, None, false).unwrap(),
            "{\"z\": 1, \"a\": \"x < y & 'q' — é\", \"c\": [1, 2]}|[\n  1,\n  2\n]|{\"a\": \"x < y & 'q' — é\", \"c\": [1, 2], \"z\": 1}"
        );
    }

    #[test]
    fn template_raise_exception_is_an_error() {
        let tok = chatml().tokenizer;
        let t =
            Tokens::new(tok, "{{ raise_exception('no system role') }}".into(), String::new(), String::new()).unwrap();
        let e = t.render(&[], None, false).unwrap_err().to_string();
        assert!(e.contains("no system role"), "{e}");
    }

    #[test]
    fn config_templates_by_name() {
        let cfg = serde_json::json!({"chat_template": [{"name": "tool_use", "template": "a"}, {"name": "default", "template": "b"}]});
        assert_eq!(template_from_config(&cfg).as_deref(), Some("b"));
        assert_eq!(template_from_config(&serde_json::json!({"chat_template": "c"})).as_deref(), Some("c"));
    }
}
