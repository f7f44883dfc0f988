//! The calendar tables round trip: accounts stored and removed whole, syncs recorded.

use super::*;
use crate::store::Store;

#[tokio::test]
async fn an_account_with_its_calendars_is_stored_and_removed_whole() {
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(&d.path().join("t.db"), std::time::Duration::from_millis(10)).unwrap();
    let objs = vec![ObjectRow { href: "/c/1.ics".into(), etag: Some("\"1\"".into()), ics: "X".into() }];
    let id = insert_account(
        &store,
        NewAccountRow { slug: "a".into(), name: "A".into(), kind: "caldav".into(), now: 5, ..Default::default() },
        vec![
            NewEntry {
                remote_id: "/c/".into(),
                name: "Work".into(),
                own: true,
                included: true,
                content: Content::Objects { objects: objs, token: Some("t1".into()), ctag: None },
                ..Default::default()
            },
            NewEntry { remote_id: "/h/".into(), name: "Holidays".into(), ..Default::default() },
        ],
    )
    .await
    .unwrap();
    let e = entries(&store, Some(id)).await.unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].included, e[0].sync_token.as_deref(), e[0].last_sync), (true, Some("t1"), Some(5)));
    assert_eq!((e[1].included, e[1].last_sync), (false, None));
    assert_eq!(objects(&store, e[0].id).await.unwrap().len(), 1);

    // The server renames one calendar, drops the other, adds a third.
    let listed = |id: &str, name: &str| Listed {
        remote_id: id.into(),
        name: name.into(),
        color: None,
        own: true,
        include_if_new: true,
    };
    reconcile_entries(&store, id, vec![listed("/c/", "Job"), listed("/n/", "New")]).await.unwrap();
    let e2 = entries(&store, Some(id)).await.unwrap();
    assert_eq!(e2.iter().map(|e| (e.name.as_str(), e.included)).collect::<Vec<_>>(), [("Job", true), ("New", true)]);
    assert_eq!(e2[0].id, e[0].id, "the ticked calendar keeps its id and cache");
    assert_eq!(objects(&store, e[0].id).await.unwrap().len(), 1);

    delete_account(&store, id).await.unwrap();
    assert!(account(&store, id).await.unwrap().is_none());
    assert!(entries(&store, None).await.unwrap().is_empty());
    assert!(objects(&store, e[0].id).await.unwrap().is_empty());
    store.close().await;
}
