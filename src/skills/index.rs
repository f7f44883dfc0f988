//! Lexical retrieval: BM25F over a skill's name, description, category and body, with English
//! stemming and stop words, as an inverted index so a query touches only the skills that share a
//! term with it (well under a millisecond for 10,000 skills).

use std::collections::HashMap;

use rust_stemmers::{Algorithm, Stemmer};

use super::Skill;

const K1: f32 = 1.2;
/// Field weights and length normalisation: a match in the description (which says when to use
/// the skill) or the name says far more than one somewhere in the body. Tuned on the labelled
/// query set (`tests/data/retrieval-queries.json`).
const FIELDS: [(f32, f32); 4] = [
    (2.0, 0.3),  // name
    (3.0, 0.5),  // description
    (0.5, 0.0),  // category
    (0.4, 0.75), // body
];

/// A skill that matched a query.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    /// Position of the skill in the snapshot.
    pub idx: usize,
    /// Share of the query's weight the skill covers, in [0, 1).
    pub score: f32,
    /// The query terms (stemmed) that matched, strongest first.
    pub terms: Vec<String>,
}

/// The inverted index over one snapshot's skills.
pub struct Index {
    /// term -> (skill index, that term's BM25F contribution for the skill, without query weight)
    postings: HashMap<String, Vec<(u32, f32)>>,
    /// Number of skills indexed.
    n: f32,
    stemmer: Stemmer,
}

impl Default for Index {
    fn default() -> Self {
        Self::build(&[])
    }
}

impl Index {
    pub fn build(skills: &[Skill]) -> Self {
        let stemmer = Stemmer::create(Algorithm::English);
        let n = skills.len() as f32;
        // Per field: token lists per skill, and average lengths.
        let fields: Vec<[Vec<String>; 4]> = skills
            .iter()
            .map(|s| {
                [
                    terms(&stemmer, &s.name.replace('-', " ")),
                    terms(&stemmer, &s.description),
                    terms(&stemmer, &s.category().replace(['-', '_'], " ")),
                    terms(&stemmer, &s.body),
                ]
            })
            .collect();
        let mut avg = [0f32; 4];
        for f in &fields {
            for (i, toks) in f.iter().enumerate() {
                avg[i] += toks.len() as f32;
            }
        }
        for a in &mut avg {
            *a = (*a / n.max(1.0)).max(1.0);
        }
        // Weighted, length-normalised term frequency per (term, skill).
        let mut tf: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
        for (doc, f) in fields.iter().enumerate() {
            let mut acc: HashMap<&str, f32> = HashMap::new();
            for (i, toks) in f.iter().enumerate() {
                let (w, b) = FIELDS[i];
                let norm = 1.0 - b + b * toks.len() as f32 / avg[i];
                for t in toks {
                    *acc.entry(t.as_str()).or_default() += w / norm;
                }
            }
            for (t, v) in acc {
                tf.entry(t.to_string()).or_default().push((doc as u32, v));
            }
        }
        let postings = tf
            .into_iter()
            .map(|(t, docs)| {
                let df = docs.len() as f32;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                let docs = docs.into_iter().map(|(d, v)| (d, idf * v / (K1 + v))).collect();
                (t, docs)
            })
            .collect();
        Self { postings, n, stemmer }
    }

    /// Stemmed, stop-worded terms of `text`.
    pub fn terms(&self, text: &str) -> Vec<String> {
        terms(&self.stemmer, text)
    }

    /// Ranks skills for weighted query parts (e.g. the latest user message at 1.0 and earlier
    /// context lower). Returns hits best first, at most `limit`.
    pub fn search(&self, parts: &[(&str, f32)], limit: usize) -> Vec<Hit> {
        let mut weights: HashMap<String, f32> = HashMap::new();
        for (text, w) in parts {
            for t in self.terms(text) {
                let e = weights.entry(t).or_default();
                *e = e.max(*w);
            }
        }
        // The best a skill could do on each term is its idf; the score is the share of the whole
        // query's idf a skill covers. A word no skill knows counts like the rarest known word
        // (df = 1), so a request about something no skill covers scores low rather than matching
        // on an incidental word, whatever the size of the library.
        let unknown_idf = (1.0 + (self.n - 0.5) / 1.5).ln();
        let mut total = 0.0;
        let mut scores: HashMap<u32, (f32, Vec<(f32, &str)>)> = HashMap::new();
        for (term, qw) in &weights {
            let Some(docs) = self.postings.get(term) else {
                total += qw * unknown_idf;
                continue;
            };
            let df = docs.len() as f32;
            total += qw * (1.0 + (self.n - df + 0.5) / (df + 0.5)).ln();
            for (d, contrib) in docs {
                let e = scores.entry(*d).or_default();
                e.0 += qw * contrib;
                e.1.push((qw * contrib, term.as_str()));
            }
        }
        if total <= 0.0 {
            return Vec::new();
        }
        let mut hits: Vec<Hit> = scores
            .into_iter()
            .map(|(d, (s, mut terms))| {
                terms.sort_by(|a, b| b.0.total_cmp(&a.0));
                Hit {
                    idx: d as usize,
                    score: s / total,
                    terms: terms.into_iter().map(|(_, t)| t.to_string()).collect(),
                }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.idx.cmp(&b.idx)));
        hits.truncate(limit);
        hits
    }
}

fn terms(stemmer: &Stemmer, text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 2 || w.chars().any(|c| !c.is_ascii()))
        .map(str::to_lowercase)
        .filter(|w| !is_stop_word(w))
        .map(|w| stemmer.stem(&w).into_owned())
        .collect()
}

/// Common English words that say nothing about which skill fits.
fn is_stop_word(w: &str) -> bool {
    const STOP: &[&str] = &[
        "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
        "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
        "does", "doing", "don", "down", "during", "each", "even", "few", "for", "from", "further", "get", "got", "had",
        "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it",
        "its", "itself", "just", "let", "like", "ll", "me", "more", "most", "my", "myself", "need", "no", "nor", "not",
        "now", "of", "off", "ok", "okay", "on", "once", "one", "only", "or", "other", "our", "ours", "out", "over",
        "own", "please", "re", "same", "she", "should", "so", "some", "such", "than", "thank", "thanks", "that", "the",
        "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under",
        "until", "up", "us", "use", "using", "ve", "very", "want", "was", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "why", "will", "with", "would", "yes", "you", "your", "yours", "yourself",
        "hi", "hello", "hey",
    ];
    STOP.binary_search(&w).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skills::Origin;
    use std::collections::BTreeMap;

    fn skill(name: &str, description: &str, body: &str) -> Skill {
        Skill::new(name.into(), description.into(), body.into(), None, None, vec![], BTreeMap::new(), Origin::User)
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        // is_stop_word relies on it.
        assert!(is_stop_word("the") && is_stop_word("your") && is_stop_word("a") && !is_stop_word("profile"));
    }

    #[test]
    fn ranks_by_name_and_description_and_stems() {
        let skills = vec![
            skill("profile-performance", "Use when code is slow: profile it before optimising.", "Measure first."),
            skill("write-emails", "Use when writing emails to colleagues.", "Be brief. Code words are fine."),
            skill("fix-flaky-tests", "Use when tests fail intermittently.", "Run them many times."),
        ];
        let idx = Index::build(&skills);
        let hits = idx.search(&[("the report page is so slow, can you profile it?", 1.0)], 3);
        assert_eq!(hits[0].idx, 0);
        assert!(hits[0].terms.contains(&"slow".to_string()));
        let hits = idx.search(&[("my test keeps failing intermittently", 1.0)], 3);
        assert_eq!(hits[0].idx, 2, "{hits:?}");
        assert!(idx.search(&[("thanks, that is all", 1.0)], 3).is_empty());
        assert!(hits.iter().all(|h| h.score > 0.0 && h.score < 1.0));
    }
}
