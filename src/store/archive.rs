//! The curator's archive (`skill_archive`): skills moved out of the active library, with their
//! SKILL.md text and why, so one can be restored even if its folder on disk is gone.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

/// One archived skill as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveRow {
    pub name: String,
    pub content: String,
    pub reason: String,
    pub archived_at: i64,
    /// The library generation its archiving made.
    pub generation: Option<i64>,
}

/// Keeps skill `name`'s text in the archive (replacing an older archived skill of that name).
pub fn put(c: &Connection, name: &str, content: &str, reason: &str, at: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT OR REPLACE INTO skill_archive(name, content, reason, archived_at, generation) VALUES (?1, ?2, ?3, ?4, NULL)",
        params![name, content, reason, at],
    )?;
    Ok(())
}

/// Records the generation that archiving `names` made.
pub fn set_generation(c: &Connection, names: &[String], generation: i64) -> Result<(), StoreError> {
    let mut st = c.prepare_cached("UPDATE skill_archive SET generation = ?2 WHERE name = ?1")?;
    for n in names {
        st.execute(params![n, generation])?;
    }
    Ok(())
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<ArchiveRow> {
    Ok(ArchiveRow {
        name: r.get(0)?,
        content: r.get(1)?,
        reason: r.get(2)?,
        archived_at: r.get(3)?,
        generation: r.get(4)?,
    })
}

/// The archive, newest first.
pub fn list(c: &Connection) -> Result<Vec<ArchiveRow>, StoreError> {
    let mut st = c.prepare(
        "SELECT name, content, reason, archived_at, generation FROM skill_archive ORDER BY archived_at DESC, name",
    )?;
    let rows = st.query_map([], row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Archived skill `name`, if there is one.
pub fn get(c: &Connection, name: &str) -> Result<Option<ArchiveRow>, StoreError> {
    Ok(c.query_row(
        "SELECT name, content, reason, archived_at, generation FROM skill_archive WHERE name = ?1",
        [name],
        row,
    )
    .optional()?)
}

/// Takes `name` out of the archive (it was restored).
pub fn remove(c: &Connection, name: &str) -> Result<(), StoreError> {
    c.execute("DELETE FROM skill_archive WHERE name = ?1", [name])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archived_skill_is_listed_newest_first_with_its_generation_until_removed() {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        put(&c, "old", "---\nname: old\n---\n", "unused for 90 days", 10).unwrap();
        put(&c, "newer", "text", "merged into x", 20).unwrap();
        set_generation(&c, &["old".into()], 7).unwrap();
        let names: Vec<String> = list(&c).unwrap().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["newer", "old"]);
        assert_eq!(get(&c, "old").unwrap().unwrap().generation, Some(7));
        remove(&c, "old").unwrap();
        assert_eq!(get(&c, "old").unwrap(), None);
    }
}
