//! What counts as busy: one rule for every kind of calendar (ICS feeds, CalDAV, Google,
//! Microsoft). Each source reads what it knows about an event into [`Facts`]; [`counts`] alone
//! decides whether the event takes the user away.

use serde::{Deserialize, Serialize};

/// How the event shows the user's time, as the source states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Explicitly busy (ICS `TRANSP:OPAQUE` or `X-MICROSOFT-CDO-BUSYSTATUS:BUSY`, Google
    /// `opaque`, Microsoft `busy`).
    Busy,
    Free,
    Tentative,
    OutOfOffice,
    /// At work, somewhere else (Microsoft `workingElsewhere`, Google working locations).
    WorkingElsewhere,
    /// The source does not say.
    Unstated,
}

/// The user's own answer to the invitation, when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    Accepted,
    Declined,
    Tentative,
    /// Not answered, or the user is the organiser, or not an invitation at all.
    None,
}

/// What a source knows about one event (or one occurrence of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub all_day: bool,
    pub cancelled: bool,
    pub show: Show,
    pub response: Response,
}

/// What counts as busy beyond the fixed rules; `[calendar]` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Tentative events and invitations answered "maybe" count as busy.
    pub tentative_busy: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Self { tentative_busy: true }
    }
}

/// Whether an event keeps the user busy: never when cancelled, declined, free or working
/// elsewhere; all-day events only when marked busy or out of office; tentative ones as the rules
/// say; every other timed event does.
pub fn counts(f: &Facts, rules: &Rules) -> bool {
    if f.cancelled || f.response == Response::Declined {
        return false;
    }
    let tentative = f.show == Show::Tentative || f.response == Response::Tentative;
    match f.show {
        Show::Free | Show::WorkingElsewhere => false,
        Show::Busy | Show::OutOfOffice => !tentative || rules.tentative_busy,
        Show::Tentative => rules.tentative_busy && !f.all_day,
        Show::Unstated if f.all_day => false,
        Show::Unstated => !tentative || rules.tentative_busy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timed(show: Show, response: Response) -> Facts {
        Facts { all_day: false, cancelled: false, show, response }
    }

    #[test]
    fn timed_events_are_busy_unless_something_says_otherwise() {
        let r = Rules::default();
        assert!(counts(&timed(Show::Unstated, Response::None), &r));
        assert!(counts(&timed(Show::Busy, Response::Accepted), &r));
        assert!(counts(&timed(Show::OutOfOffice, Response::None), &r));
        assert!(!counts(&timed(Show::Free, Response::None), &r));
        assert!(!counts(&timed(Show::WorkingElsewhere, Response::None), &r));
        assert!(!counts(&timed(Show::Busy, Response::Declined), &r));
        assert!(!counts(&Facts { cancelled: true, ..timed(Show::Busy, Response::Accepted) }, &r));
    }

    #[test]
    fn tentative_follows_the_rule_whichever_way_it_is_stated() {
        let busy = Rules { tentative_busy: true };
        let free = Rules { tentative_busy: false };
        for f in [timed(Show::Tentative, Response::None), timed(Show::Unstated, Response::Tentative)] {
            assert!(counts(&f, &busy), "{f:?}");
            assert!(!counts(&f, &free), "{f:?}");
        }
    }

    #[test]
    fn all_day_events_count_only_when_marked_busy_or_away() {
        let r = Rules::default();
        let day = |show| Facts { all_day: true, cancelled: false, show, response: Response::None };
        assert!(!counts(&day(Show::Unstated), &r));
        assert!(!counts(&day(Show::Tentative), &r));
        assert!(!counts(&day(Show::Free), &r));
        assert!(counts(&day(Show::Busy), &r));
        assert!(counts(&day(Show::OutOfOffice), &r));
    }
}
