//! The calendar tables' SQL, and the only code that touches them: accounts, each account's
//! calendars (which the user ticks), the CalDAV objects cached per calendar with their ETags, and
//! the provider events cached per calendar. Secrets (addresses, passwords, tokens) never come here.

mod accounts;
mod cache;
mod entries;

pub use accounts::{
    account, accounts, body, delete_account, insert_account, record_outcome, rename, save_feed, set_enabled, slugs,
    AccountRow, NewAccountRow,
};
pub use cache::{apply_objects, clear_objects, events, objects, replace_events, EventRow, ObjectRow};
pub use entries::{entries, entry, reconcile_entries, record_entry, set_included, Content, EntryRow, Listed, NewEntry};

#[cfg(test)]
mod tests;
