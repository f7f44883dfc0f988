//! `metaclaw curate`: runs the curator now (archive unused skills, propose disabling harmful
//! ones and merging near-duplicates), or with `--dry-run` only says what it would do and why.

use anyhow::Result;

use metaclaw::api::types::curate::{CurateArg, CurateKind};
use metaclaw::home::Home;

use super::client::{api, print_json};

pub async fn run(home: &Home, dry_run: bool, json: bool) -> Result<()> {
    let report = api(home)?.curate(&CurateArg { dry_run }).await?;
    if json {
        return print_json(&report);
    }
    if report.actions.is_empty() {
        println!("nothing to curate: no unused, harmful or near-duplicate skills");
        return Ok(());
    }
    for a in &report.actions {
        let what = match (a.kind, dry_run || !a.applied) {
            (CurateKind::Archive, true) => "would archive",
            (CurateKind::Archive, false) => "archived",
            (CurateKind::Disable, true) => "would propose disabling",
            (CurateKind::Disable, false) => "proposed disabling",
            (CurateKind::Merge, true) => "would propose merging",
            (CurateKind::Merge, false) => "proposed merging",
        };
        let cand = a.candidate.map(|c| format!(" (candidate #{c}, in Review)")).unwrap_or_default();
        println!("{what} {}{cand}: {}", a.skills.join(", "), a.reason);
        println!("    {}", a.evidence);
    }
    match (dry_run, report.generation) {
        (true, _) => println!("dry run: nothing was changed"),
        (false, Some(g)) => println!("library generation {g}"),
        (false, None) => {}
    }
    Ok(())
}
