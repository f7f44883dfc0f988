//! Turning the evolver's edit proposals into deltas before screening: operations are applied to
//! the skill's current body (the candidate's `content` is the result, so approval writes a whole
//! SKILL.md as before); a whole new body from a model that ignored the operations contract is
//! diffed into operations, so Review still shows a delta (and refused, with why, when the diff
//! can't express it); an edit that changes nothing is dropped before anyone sees it.

use super::ops::{self, EditOp};
use super::prompt::Proposal;
use super::review::CandidateAction;
use crate::skills::{render, Skill, Snapshot};

/// An edit's operations and the hash of the SKILL.md they apply to.
#[derive(Debug, Clone, PartialEq)]
pub struct Delta {
    pub ops: Vec<EditOp>,
    pub base_hash: String,
}

const NOOP: &str = "its edit changes nothing (every operation is a no-op)";

/// Resolves an edit proposal against the library: its operations applied to the current body
/// (which becomes the proposal's body, with the current description unless it gives one), or
/// its whole body turned into operations. Creates pass through. `Err(why)` drops it.
pub fn resolve(mut p: Proposal, snap: &Snapshot) -> Result<(Proposal, Option<Delta>), String> {
    let existing = snap.get(&p.name).map(|e| &e.skill);
    let Some(skill) = existing.filter(|_| p.action == "edit") else {
        if p.ops.is_some() {
            return Err(format!("its edit operations are for {}, a skill the library does not have", p.name));
        }
        return Ok((p, None));
    };
    if p.description.trim().is_empty() {
        p.description = skill.description.clone();
    }
    let same_description = p.description.trim() == skill.description.trim();
    let ops = match p.ops.take() {
        Some(ops) => {
            let applied = ops::apply(&skill.body, &ops)
                .map_err(|e| format!("its edit does not apply to the current text: {e}"))?;
            if applied.unchanged(&skill.body) && same_description {
                return Err(NOOP.into());
            }
            p.body = applied.text;
            ops
        }
        None => {
            let ops = ops::diff(&skill.body, &p.body).map_err(|e| {
                format!("it rewrote the whole skill instead of editing lines, and the rewrite can't be shown as line edits: {e}")
            })?;
            if ops.is_empty() && same_description {
                return Err(NOOP.into());
            }
            ops
        }
    };
    p.ops = Some(ops.clone());
    Ok((p, Some(Delta { ops, base_hash: ops::text_hash(&render(skill)) })))
}

/// The delta of a proposal screening kept: the one [`resolve`] made, or, for a new skill that
/// screening turned into an edit of a near-duplicate, its body diffed against that skill's.
pub fn of_kept(
    action: CandidateAction,
    kept: &Skill,
    snap: &Snapshot,
    resolved: Option<Delta>,
) -> Result<Option<Delta>, String> {
    if action != CandidateAction::Edit {
        return Ok(None);
    }
    if let Some(d) = resolved {
        return Ok(Some(d));
    }
    let Some(existing) = snap.get(&kept.name).map(|e| &e.skill) else { return Ok(None) };
    let ops = ops::diff(&existing.body, &kept.body).map_err(|e| {
        format!("it is close to {} but its text can't be shown as line edits of it: {e}", existing.name)
    })?;
    if ops.is_empty() && kept.description.trim() == existing.description.trim() {
        return Err(NOOP.into());
    }
    Ok(Some(Delta { ops, base_hash: ops::text_hash(&render(existing)) }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::skills::Origin;

    fn library() -> Snapshot {
        Snapshot::from_skills(vec![Skill::new(
            "iso-timestamps".into(),
            "Use whenever writing timestamps: ISO 8601 with the +08:00 offset.".into(),
            "1. Write 2026-03-16T09:00:00+08:00.\n2. Never a bare date.".into(),
            None,
            None,
            vec![],
            BTreeMap::new(),
            Origin::User,
        )])
    }

    fn edit(ops: Option<Vec<EditOp>>, body: &str) -> Proposal {
        Proposal {
            action: "edit".into(),
            name: "iso-timestamps".into(),
            description: String::new(),
            body: body.into(),
            ops,
            category: String::new(),
            rationale: "r".into(),
        }
    }

    #[test]
    fn operations_become_the_body_and_keep_the_description() {
        let op = EditOp::AddStep { after: Some("2. Never a bare date.".into()), text: "3. Include seconds.".into() };
        let (p, d) = resolve(edit(Some(vec![op.clone()]), ""), &library()).unwrap();
        assert_eq!(p.body, "1. Write 2026-03-16T09:00:00+08:00.\n2. Never a bare date.\n3. Include seconds.");
        assert!(p.description.starts_with("Use whenever writing timestamps"));
        let d = d.unwrap();
        assert_eq!(d.ops, vec![op]);
        assert_eq!(d.base_hash, ops::text_hash(&render(&library().get("iso-timestamps").unwrap().skill)));
    }

    #[test]
    fn a_noop_edit_or_one_whose_anchor_is_missing_is_dropped() {
        let same = EditOp::ReplaceLine { anchor: "2. Never a bare date.".into(), text: "2. Never a bare date.".into() };
        assert_eq!(resolve(edit(Some(vec![same]), ""), &library()).unwrap_err(), NOOP);
        assert_eq!(
            resolve(edit(None, "1. Write 2026-03-16T09:00:00+08:00.\n2. Never a bare date."), &library()).unwrap_err(),
            NOOP
        );
        let gone = EditOp::RemoveLine { anchor: "3. Not there".into() };
        assert!(resolve(edit(Some(vec![gone]), ""), &library()).unwrap_err().contains("does not apply"));
        let mut p = edit(Some(vec![]), "");
        p.name = "nowhere".into();
        assert!(resolve(p, &library()).unwrap_err().contains("does not have"));
    }

    #[test]
    fn a_whole_body_edit_is_diffed_into_operations() {
        let (p, d) =
            resolve(edit(None, "1. Write 2026-03-16T09:00:00+08:00 with seconds.\n2. Never a bare date."), &library())
                .unwrap();
        assert_eq!(
            d.unwrap().ops,
            vec![EditOp::ReplaceLine {
                anchor: "1. Write 2026-03-16T09:00:00+08:00.".into(),
                text: "1. Write 2026-03-16T09:00:00+08:00 with seconds.".into()
            }]
        );
        assert!(p.body.contains("with seconds"));
    }
}
