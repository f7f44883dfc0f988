//! The tests' tokenizer: word level, ChatML, written as Hugging Face files.

use serde_json::{json, Value};

/// Writes a word-level tokenizer with ChatML specials (`tokenizer.json`, `tokenizer_config.json`
/// with a chat template) into `dir`: the words the tests use, with and without a leading space;
/// anything else is `[UNK]`. Returns the vocabulary.
pub fn write_tokenizer(dir: &std::path::Path) -> serde_json::Map<String, Value> {
    let mut words = vec!["[UNK]", "<|im_start|>", "<|im_end|>", "\n", "system", "user", "assistant"];
    let plain = [
        "sure",
        "thing",
        "forbidden",
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
        "foxtrot",
        "golf",
        "hotel",
        "please",
    ];
    let spaced: Vec<String> = plain.iter().map(|w| format!(" {w}")).collect();
    words.extend(plain);
    words.extend(spaced.iter().map(String::as_str));
    let vocab: serde_json::Map<String, Value> =
        words.iter().enumerate().map(|(i, w)| (w.to_string(), json!(i))).collect();
    let special = |id: usize, content: &str| json!({"id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true});
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [special(1, "<|im_start|>"), special(2, "<|im_end|>")],
        "normalizer": null,
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\n| ?[A-Za-z]+|[^A-Za-z\\n ]+| "}, "behavior": "Isolated", "invert": false},
        "post_processor": null,
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    let template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("tokenizer.json"), tokenizer.to_string()).unwrap();
    std::fs::write(
        dir.join("tokenizer_config.json"),
        json!({"chat_template": template, "eos_token": "<|im_end|>", "bos_token": null}).to_string(),
    )
    .unwrap();
    vocab
}
