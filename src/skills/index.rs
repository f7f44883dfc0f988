//! Lexical retrieval: BM25F over a skill's name, description, category and body, with English
//! stemming and stop words, as an inverted index so a query touches only the skills that share a
//! term with it (well under a millisecond for 10,000 skills).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

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
    /// At least one matched term is distinctive: few skills use it (see [`Index::distinctive`]).
    #[serde(default)]
    pub distinctive: bool,
}

/// The inverted index over one snapshot's skills.
pub struct Index {
    /// Stemmed term -> term id.
    ids: HashMap<String, u32>,
    /// Term id -> its stem.
    stems: Vec<String>,
    /// Term id -> (skill index, the term's BM25F contribution for that skill), by skill index.
    postings: Vec<Vec<(u32, f32)>>,
    /// Number of skills indexed.
    n: usize,
    stemmer: Stemmer,
    /// Every word of the indexed text -> (its term id, is a chat word), or `None` for a stop
    /// word: a query word seen in the library costs one lookup, not a stemming.
    vocab: HashMap<String, Option<(u32, bool)>>,
}

/// A query word as the index sees it: a term it knows, or a stem no skill uses.
#[derive(Clone, Copy, PartialEq)]
enum Term<'a> {
    Known(u32),
    New(&'a str),
}

impl Default for Index {
    fn default() -> Self {
        Self::build(&[])
    }
}

/// Tokenises with a cache of word -> stem, since the same words recur across thousands of skills.
struct Tokenizer<'a> {
    stemmer: &'a Stemmer,
    /// Word -> (stem, is a chat word), or `None` for a stop word.
    cache: HashMap<String, Option<(String, bool)>>,
}

impl Tokenizer<'_> {
    /// Calls `f(stem, chat)` for each word of `text` that is not a stop word; `chat` says it is
    /// a chat word (see [`is_chat_word`]).
    fn each(&mut self, text: &str, mut f: impl FnMut(&str, bool)) {
        for w in words(text) {
            let entry = match self.cache.get(&*w) {
                Some(s) => s.as_ref(),
                None => {
                    let s = (!is_stop_word(&w)).then(|| (self.stemmer.stem(&w).into_owned(), is_chat_word(&w)));
                    self.cache.entry(w.into_owned()).or_insert(s).as_ref()
                }
            };
            if let Some((stem, chat)) = entry {
                f(stem, *chat);
            }
        }
    }
}

impl Index {
    pub fn build(skills: &[Skill]) -> Self {
        let stemmer = Stemmer::create(Algorithm::English);
        let mut tok = Tokenizer { stemmer: &stemmer, cache: HashMap::new() };
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut stems: Vec<String> = Vec::new();
        // Per skill, per field: term ids.
        let mut fields: Vec<[Vec<u32>; 4]> = Vec::with_capacity(skills.len());
        for s in skills {
            let texts = [
                s.name.replace('-', " "),
                s.description.clone(),
                s.category().replace(['-', '_'], " "),
                s.body.clone(),
            ];
            let mut f: [Vec<u32>; 4] = Default::default();
            for (i, text) in texts.iter().enumerate() {
                tok.each(text, |stem, _| {
                    let id = match ids.get(stem) {
                        Some(id) => *id,
                        None => {
                            let id = stems.len() as u32;
                            stems.push(stem.to_string());
                            ids.insert(stem.to_string(), id);
                            id
                        }
                    };
                    f[i].push(id);
                });
            }
            fields.push(f);
        }
        let n = skills.len();
        let mut avg = [0f32; 4];
        for f in &fields {
            for (i, toks) in f.iter().enumerate() {
                avg[i] += toks.len() as f32;
            }
        }
        for a in &mut avg {
            *a = (*a / (n as f32).max(1.0)).max(1.0);
        }
        // Weighted, length-normalised term frequency per (term, skill), in skill order.
        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); stems.len()];
        let mut acc: Vec<(u32, f32)> = Vec::new();
        for (doc, f) in fields.iter().enumerate() {
            acc.clear();
            for (i, toks) in f.iter().enumerate() {
                let (w, b) = FIELDS[i];
                let v = w / (1.0 - b + b * toks.len() as f32 / avg[i]);
                acc.extend(toks.iter().map(|t| (*t, v)));
            }
            acc.sort_unstable_by_key(|(t, _)| *t);
            for chunk in acc.chunk_by(|a, b| a.0 == b.0) {
                let tf: f32 = chunk.iter().map(|(_, v)| v).sum();
                postings[chunk[0].0 as usize].push((doc as u32, tf));
            }
        }
        for docs in &mut postings {
            let idf = idf(n, docs.len());
            for (_, v) in docs.iter_mut() {
                *v = idf * *v / (K1 + *v);
            }
        }
        // Every stem the tokenizer produced was given an id above.
        let vocab = tok.cache.into_iter().map(|(w, e)| (w, e.map(|(stem, chat)| (ids[&stem], chat)))).collect();
        Self { ids, stems, postings, n, stemmer, vocab }
    }

    /// Calls `f(term, chat)` for each word of a query's `text` that is not a stop word (`chat`:
    /// see [`is_chat_word`]). Words the library uses are looked up, only others stemmed.
    fn each_query(&self, text: &str, mut f: impl FnMut(Term, bool)) {
        for w in words(text) {
            match self.vocab.get(&*w) {
                Some(Some((id, chat))) => f(Term::Known(*id), *chat),
                Some(None) => {}
                None if is_stop_word(&w) => {}
                None => {
                    let stem = self.stemmer.stem(&w);
                    let chat = is_chat_word(&w);
                    match self.ids.get(&*stem) {
                        Some(id) => f(Term::Known(*id), chat),
                        None => f(Term::New(&stem), chat),
                    }
                }
            }
        }
    }

    /// The stem of `t`.
    fn stem_of<'a>(&'a self, t: Term<'a>) -> &'a str {
        match t {
            Term::Known(id) => &self.stems[id as usize],
            Term::New(s) => s,
        }
    }

    /// Stemmed, stop-worded terms of `text`.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.each_query(text, |t, _| out.push(self.stem_of(t).to_string()));
        out
    }

    /// How many distinct terms of a request's `text` can be evidence for a skill (stop words and
    /// chat words such as "say", "list" or "two" are not).
    pub fn content_terms(&self, text: &str) -> usize {
        let mut known: Vec<u32> = Vec::new();
        let mut new: HashSet<String> = HashSet::new();
        self.each_query(text, |t, chat| match t {
            _ if chat => {}
            Term::Known(id) => known.push(id),
            Term::New(s) => {
                if !new.contains(s) {
                    new.insert(s.to_string());
                }
            }
        });
        known.sort_unstable();
        known.dedup();
        known.len() + new.len()
    }

    /// A term is distinctive when few skills use it: at most a quarter of the library (or just
    /// one skill). "Use", "file" or "code" say little about which skill fits; "cron" says a lot.
    fn distinctive(&self, docs: usize) -> bool {
        docs == 1 || docs * 4 <= self.n
    }

    /// Ranks skills for weighted query parts (e.g. the latest user message at 1.0 and earlier
    /// context lower). Returns hits best first, at most `limit`.
    pub fn search(&self, parts: &[(&str, f32)], limit: usize) -> Vec<Hit> {
        // Query terms with their weight (the highest of the parts they occur in).
        let mut known: Vec<(u32, f32)> = Vec::new();
        let mut unknown: HashMap<String, f32> = HashMap::new();
        // Chat words weigh in the whole query like any word, but match nothing.
        let mut chatty_known: Vec<(u32, f32)> = Vec::new();
        let mut chatty_new: HashMap<String, f32> = HashMap::new();
        let raise = |list: &mut Vec<(u32, f32)>, id: u32, w: f32| match list.iter_mut().find(|(t, _)| *t == id) {
            Some(e) => e.1 = e.1.max(w),
            None => list.push((id, w)),
        };
        let raise_new = |map: &mut HashMap<String, f32>, stem: &str, w: f32| match map.get_mut(stem) {
            Some(e) => *e = e.max(w),
            None => {
                map.insert(stem.to_string(), w);
            }
        };
        for (text, w) in parts {
            self.each_query(text, |t, chat| match t {
                Term::Known(id) if chat => raise(&mut chatty_known, id, *w),
                Term::New(stem) if chat => raise_new(&mut chatty_new, stem, *w),
                Term::Known(id) => raise(&mut known, id, *w),
                Term::New(stem) => raise_new(&mut unknown, stem, *w),
            });
        }
        // The best a skill could do on each term is its idf; the score is the share of the whole
        // query's idf a skill covers. A word no skill knows counts like the rarest known word
        // (df = 1), so a request about something no skill covers scores low rather than matching
        // on an incidental word, whatever the size of the library.
        let mut total: f32 = unknown.values().chain(chatty_new.values()).map(|w| w * idf(self.n, 1)).sum();
        for (t, w) in &chatty_known {
            total += w * idf(self.n, self.postings[*t as usize].len());
        }
        let mut scores = vec![0f32; self.n];
        let mut touched: Vec<u32> = Vec::new();
        for (t, qw) in &known {
            let docs = &self.postings[*t as usize];
            total += qw * idf(self.n, docs.len());
            for (d, c) in docs {
                let s = &mut scores[*d as usize];
                if *s == 0.0 {
                    touched.push(*d);
                }
                *s += qw * c;
            }
        }
        if total <= 0.0 || touched.is_empty() {
            return Vec::new();
        }
        let by_score = |a: &u32, b: &u32| scores[*b as usize].total_cmp(&scores[*a as usize]).then(a.cmp(b));
        if touched.len() > limit {
            touched.select_nth_unstable_by(limit, by_score);
            touched.truncate(limit);
        }
        touched.sort_unstable_by(by_score);
        touched
            .into_iter()
            .map(|d| {
                // Which query terms matched this skill, strongest first (only for the few hits).
                let mut terms: Vec<(f32, u32)> = known
                    .iter()
                    .filter_map(|(t, qw)| {
                        let docs = &self.postings[*t as usize];
                        docs.binary_search_by_key(&d, |(doc, _)| *doc).ok().map(|i| (qw * docs[i].1, *t))
                    })
                    .collect();
                terms.sort_by(|a, b| b.0.total_cmp(&a.0));
                let distinctive = terms.iter().any(|(_, t)| self.distinctive(self.postings[*t as usize].len()));
                Hit {
                    idx: d as usize,
                    score: scores[d as usize] / total,
                    terms: terms.into_iter().map(|(_, t)| self.stems[t as usize].clone()).collect(),
                    distinctive,
                }
            })
            .collect()
    }
}

fn idf(n: usize, df: usize) -> f32 {
    (1.0 + (n as f32 - df as f32 + 0.5) / (df as f32 + 0.5)).ln()
}

/// Lowercased words of `text` (letters and digits), at least two characters long; borrowed when
/// already lowercase ASCII.
fn words(text: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 2 || !w.is_ascii()).map(|w| {
        if w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
            Cow::Borrowed(w)
        } else {
            Cow::Owned(w.to_lowercase())
        }
    })
}

/// Common English words that say nothing about which skill fits.
fn is_stop_word(w: &str) -> bool {
    static SET: LazyLock<HashSet<&str>> = LazyLock::new(|| STOP.iter().copied().collect());
    SET.contains(w)
}

/// Words of a request that ask for a kind of answer rather than name a topic: chat verbs
/// ("say", "tell", "name", "list", "give", "show", "count"), numerals and ordinals,
/// and small-talk fillers. A skill described with "list" or "two" is no match for "List two
/// colours". They are still indexed (a skill about lists keeps its words), only not searched.
fn is_chat_word(w: &str) -> bool {
    static SET: LazyLock<HashSet<&str>> = LazyLock::new(|| CHAT.iter().copied().collect());
    SET.contains(w)
}

#[rustfmt::skip]
const CHAT: &[&str] = &[
    "say", "says", "said", "saying", "tell", "tells", "told", "telling", "name", "names", "list", "lists", "give",
    "gives", "gave", "given", "giving", "show", "shows", "showed", "shown", "count", "counting", "repeat", "pick",
    "zero", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty",
    "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "first", "second", "third", "fourth",
    "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "twice", "dozen", "couple", "something", "anything",
    "nothing", "everything", "good", "great", "nice", "cool", "fun", "funny", "cute", "morning", "evening", "joke",
    "bye", "sure", "maybe", "cheers",
];

#[rustfmt::skip]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skills::Origin;
    use std::collections::BTreeMap;

    fn skill(name: &str, description: &str, body: &str) -> Skill {
        Skill::new(name.into(), description.into(), body.into(), None, None, vec![], BTreeMap::new(), Origin::User)
    }

    #[test]
    fn stop_words_are_found_wherever_they_are_listed() {
        // "hi" sat after "yourself" in a list searched by bisection, and "Say hi." matched on it.
        for w in ["the", "your", "a", "hi", "hello", "hey"] {
            assert!(is_stop_word(w), "{w}");
        }
        assert!(!is_stop_word("profile"));
        assert!(is_chat_word("list") && is_chat_word("two") && !is_chat_word("cron"));
    }

    #[test]
    fn a_query_word_matches_in_any_case_and_in_forms_the_library_never_uses() {
        let skills = vec![
            skill("profile-performance", "Use when code is slow: profile it before optimising.", "Measure first."),
            skill("write-emails", "Use when writing emails to colleagues.", "Be brief."),
        ];
        let idx = Index::build(&skills);
        // "profiling" and "PROFILES" appear nowhere in the library; their stem does.
        for q in ["the page needs profiling", "PROFILES of the SLOW page", "Profile it"] {
            let hits = idx.search(&[(q, 1.0)], 3);
            assert_eq!(hits.first().map(|h| h.idx), Some(0), "{q}: {hits:?}");
            assert!(hits[0].terms.contains(&"profil".to_string()), "{q}: {hits:?}");
        }
        assert_eq!(idx.terms("PROFILING Emails"), idx.terms("profiling emails"));
        assert_eq!(idx.content_terms("profiling profiles PROFILE emails two"), 2, "distinct stems, no chat words");
        // Words no skill uses still weigh in the query (a stem of its own), so they lower the score.
        let alone = idx.search(&[("profile", 1.0)], 3)[0].score;
        let diluted = idx.search(&[("profile zanzibar", 1.0)], 3)[0].score;
        assert!(diluted < alone, "{diluted} vs {alone}");
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
