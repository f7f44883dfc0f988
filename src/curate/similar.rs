//! Near-duplicate skills: clusters of skills whose words (name, description and text, stemmed
//! and stop-worded as retrieval sees them) overlap at least a threshold (Jaccard similarity).
//! Bounded: at most [`MAX_SKILLS`] skills are compared (about 500,000 pairs of sorted term-id
//! lists), and a cluster keeps its [`MAX_CLUSTER`] most similar members.

use std::collections::HashMap;

/// Skills compared at most (the rest wait for a later run).
pub const MAX_SKILLS: usize = 1000;
/// Skills one merge replaces at most.
pub const MAX_CLUSTER: usize = 4;

/// The Jaccard similarity of two sorted, deduplicated id lists.
pub fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Clusters of near-duplicates among `docs` (each a list of terms): index lists of two or more,
/// each with the highest similarity found inside it; at most [`MAX_SKILLS`] docs are read.
pub fn clusters(docs: &[Vec<String>], threshold: f64) -> Vec<(Vec<usize>, f64)> {
    let docs = &docs[..docs.len().min(MAX_SKILLS)];
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let sets: Vec<Vec<u32>> = docs
        .iter()
        .map(|terms| {
            let mut v: Vec<u32> = terms
                .iter()
                .map(|t| {
                    let n = ids.len() as u32;
                    *ids.entry(t.as_str()).or_insert(n)
                })
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    let mut parent: Vec<usize> = (0..sets.len()).collect();
    let mut best: Vec<f64> = vec![0.0; sets.len()];
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            // Sizes alone bound the similarity: skip pairs that can't reach the threshold.
            let (a, b) = (sets[i].len(), sets[j].len());
            if a.min(b) as f64 / a.max(b).max(1) as f64 + 1e-9 < threshold {
                continue;
            }
            let s = jaccard(&sets[i], &sets[j]);
            if s >= threshold {
                best[i] = best[i].max(s);
                best[j] = best[j].max(s);
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                parent[ri.max(rj)] = ri.min(rj);
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..sets.len() {
        let r = find(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut out: Vec<(Vec<usize>, f64)> = groups
        .into_values()
        .filter(|g| g.len() >= 2)
        .map(|mut g| {
            g.sort_by(|a, b| best[*b].total_cmp(&best[*a]).then(a.cmp(b)));
            g.truncate(MAX_CLUSTER);
            g.sort_unstable();
            let top = g.iter().map(|&i| best[i]).fold(0.0, f64::max);
            (g, top)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn near_duplicates_cluster_and_different_skills_do_not() {
        let docs = vec![
            words("timestamp offset iso format seconds zone"),
            words("weekly report totals first"),
            words("timestamp offset iso format seconds zone always"),
            words("report weekly totals table"),
            words("unrelated poem"),
        ];
        let c = clusters(&docs, 0.6);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].0, vec![0, 2]);
        assert!((c[0].1 - 6.0 / 7.0).abs() < 1e-9);
        assert_eq!(c[1].0, vec![1, 3]);
        assert!(clusters(&docs, 0.9).is_empty());
    }

    #[test]
    fn a_thousand_skills_are_compared_quickly_and_more_are_not_read() {
        let docs: Vec<Vec<String>> =
            (0..MAX_SKILLS + 500).map(|i| (0..40).map(|k| format!("w{}", (i * 7 + k * 13) % 5000)).collect()).collect();
        let t = std::time::Instant::now();
        let c = clusters(&docs, 0.6);
        eprintln!("{MAX_SKILLS} skills compared in {:?}", t.elapsed());
        assert!(c.iter().all(|(g, _)| g.iter().all(|&i| i < MAX_SKILLS)));
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "{:?}", t.elapsed());
        assert_eq!(jaccard(&[], &[]), 0.0);
    }
}
