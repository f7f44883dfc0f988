//! The tray: a status line, "Review N new skills…", pause/resume, open, copy the proxy URL,
//! start at login, notifications, quit. Menu ids are a typed enum. On Linux the tray is
//! menu-only, so every action is a menu item; the icon shows pending reviews and pauses.

use metaclaw::health::HealthState;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuEvent, MenuId, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Wry};

/// Every tray menu entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Status,
    Review,
    Pause,
    Open,
    CopyUrl,
    Autostart,
    Notifications,
    /// "Update available — version X": installs it (update.rs).
    Update,
    Quit,
}

impl Item {
    const ALL: [Item; 9] = [
        Item::Status,
        Item::Review,
        Item::Pause,
        Item::Open,
        Item::CopyUrl,
        Item::Autostart,
        Item::Notifications,
        Item::Update,
        Item::Quit,
    ];

    fn id(self) -> &'static str {
        match self {
            Item::Status => "status",
            Item::Review => "review",
            Item::Pause => "pause",
            Item::Open => "open",
            Item::CopyUrl => "copy-url",
            Item::Autostart => "autostart",
            Item::Notifications => "notifications",
            Item::Update => "update",
            Item::Quit => "quit",
        }
    }
}

impl From<Item> for MenuId {
    fn from(i: Item) -> Self {
        MenuId::new(i.id())
    }
}

impl TryFrom<&MenuId> for Item {
    type Error = ();
    fn try_from(id: &MenuId) -> Result<Self, ()> {
        Item::ALL.into_iter().find(|i| i.id() == id.as_ref()).ok_or(())
    }
}

/// What the tray shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct View {
    pub address: String,
    pub turns_today: i64,
    /// The engine answers its admin API.
    pub healthy: bool,
    /// The worst state among the engine's parts (`None`: not known yet).
    pub health: Option<HealthState>,
    /// What is wrong, naming the part (the health summary), when something is.
    pub problem: Option<String>,
    pub pending: i64,
    pub paused: bool,
    pub autostart: bool,
    pub notifications: bool,
    /// A policy training run is going.
    pub training: bool,
    /// The updater's line (update.rs), if it has something to say.
    pub update: Option<UpdateLine>,
}

/// What the updater shows in the menu.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateLine {
    /// Verified and ready: the item installs it.
    Available(String),
    Installing(String),
    /// The download's signature did not match the release key; nothing was replaced.
    Refused(String),
}

impl UpdateLine {
    /// The item's label, and whether it can be clicked.
    pub fn label(&self) -> (String, bool) {
        match self {
            UpdateLine::Available(v) => (format!("Update available — version {v}"), true),
            UpdateLine::Installing(v) => (format!("Installing version {v}…"), false),
            UpdateLine::Refused(v) => (format!("Update {v} refused: not signed by MetaClaw"), false),
        }
    }
}

pub const TRAY_ID: &str = "metaclaw";

/// The icon's name and picture: trouble first (the engine not answering or a part failing, then
/// a part degraded), then skills to review, then paused.
fn icon_file(v: &View) -> (&'static str, &'static [u8]) {
    if !v.healthy || v.health == Some(HealthState::Failing) {
        ("tray-error", include_bytes!("../../icons/tray-error.png"))
    } else if v.health == Some(HealthState::Degraded) {
        ("tray-degraded", include_bytes!("../../icons/tray-degraded.png"))
    } else if v.pending > 0 {
        ("tray-review", include_bytes!("../../icons/tray-review.png"))
    } else if v.paused {
        ("tray-paused", include_bytes!("../../icons/tray-paused.png"))
    } else {
        ("tray", include_bytes!("../../icons/tray.png"))
    }
}

fn icon(v: &View) -> Image<'static> {
    Image::from_bytes(icon_file(v).1).expect("tray icons are valid PNGs")
}

/// The status line; `full` keeps the whole problem (the tooltip), else it is clipped for the menu.
fn status_line(v: &View, full: bool) -> String {
    let health = match (&v.problem, v.healthy) {
        (_, false) => "not answering".into(),
        (Some(p), true) if !full && p.chars().count() > 80 => format!("{}…", p.chars().take(79).collect::<String>()),
        (Some(p), true) => p.clone(),
        (None, true) => "healthy".into(),
    };
    let training = if v.training { " · training the policy" } else { "" };
    format!("{} · {} turns today · {health}{training}", v.address.trim_start_matches("http://"), v.turns_today)
}

fn menu(app: &AppHandle, v: &View) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    menu.append(&MenuItem::with_id(app, Item::Status, status_line(v, false), false, None::<&str>)?)?;
    if v.pending > 0 {
        let label = format!("Review {} new skill{}…", v.pending, if v.pending == 1 { "" } else { "s" });
        menu.append(&MenuItem::with_id(app, Item::Review, label, true, None::<&str>)?)?;
    }
    if let Some((label, enabled)) = v.update.as_ref().map(UpdateLine::label) {
        menu.append(&MenuItem::with_id(app, Item::Update, label, enabled, None::<&str>)?)?;
    }
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    let pause = if v.paused { "Resume learning" } else { "Pause learning" };
    menu.append(&MenuItem::with_id(app, Item::Pause, pause, true, None::<&str>)?)?;
    menu.append(&MenuItem::with_id(app, Item::Open, "Open MetaClaw", true, None::<&str>)?)?;
    menu.append(&MenuItem::with_id(app, Item::CopyUrl, "Copy proxy URL", true, None::<&str>)?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&CheckMenuItem::with_id(app, Item::Autostart, "Start at login", true, v.autostart, None::<&str>)?)?;
    menu.append(&CheckMenuItem::with_id(
        app,
        Item::Notifications,
        "Notifications",
        true,
        v.notifications,
        None::<&str>,
    )?)?;
    menu.append(&PredefinedMenuItem::separator(app)?)?;
    menu.append(&MenuItem::with_id(app, Item::Quit, "Quit MetaClaw", true, None::<&str>)?)?;
    Ok(menu)
}

/// Creates the tray icon.
pub fn create(
    app: &AppHandle,
    v: &View,
    on_menu: impl Fn(&AppHandle, Item) + Send + Sync + 'static,
) -> tauri::Result<()> {
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(v))
        .tooltip("MetaClaw")
        .menu(&menu(app, v)?)
        .show_menu_on_left_click(true)
        .on_menu_event(move |app: &AppHandle, e: MenuEvent| {
            if let Ok(item) = Item::try_from(e.id()) {
                on_menu(app, item);
            }
        })
        .build(app)?;
    Ok(())
}

/// Redraws the tray for a new view (only when something changed).
pub fn update(app: &AppHandle, v: &View) -> tauri::Result<()> {
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        tray.set_menu(Some(menu(app, v)?))?;
        tray.set_icon(Some(icon(v)))?;
        tray.set_tooltip(Some(format!("MetaClaw: {}", status_line(v, true))))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_ids_round_trip() {
        for i in Item::ALL {
            assert_eq!(Item::try_from(&MenuId::from(i)), Ok(i));
        }
        assert!(Item::try_from(&MenuId::new("nope")).is_err());
    }

    #[test]
    fn the_status_line_says_what_matters() {
        let v = View { address: "http://127.0.0.1:30000".into(), turns_today: 12, healthy: true, ..Default::default() };
        assert_eq!(status_line(&v, false), "127.0.0.1:30000 · 12 turns today · healthy");
        let v = View { problem: Some("upstream failing".into()), ..v };
        assert!(status_line(&v, false).ends_with("upstream failing"));
        let v = View { training: true, problem: None, ..v };
        assert_eq!(status_line(&v, false), "127.0.0.1:30000 · 12 turns today · healthy · training the policy");
    }

    #[test]
    fn the_icon_and_tooltip_follow_health() {
        let v = View { address: "http://127.0.0.1:30000".into(), healthy: true, pending: 2, ..Default::default() };
        assert_eq!(icon_file(&v).0, "tray-review");
        let degraded = View { health: Some(HealthState::Degraded), ..v.clone() };
        assert_eq!(icon_file(&degraded).0, "tray-degraded", "trouble comes before reviews");
        let long = format!("judge failing: not found: check the model name ({})", "x".repeat(100));
        let failing = View { health: Some(HealthState::Failing), problem: Some(long.clone()), ..v.clone() };
        assert_eq!(icon_file(&failing).0, "tray-error");
        assert!(status_line(&failing, true).ends_with(&long), "the tooltip names the failing part in full");
        let menu_line = status_line(&failing, false);
        assert!(menu_line.contains("judge failing: not found") && menu_line.ends_with('…'), "{menu_line}");
        let down = View { healthy: false, ..failing };
        assert!(status_line(&down, true).ends_with("not answering"));
        for v in [v, degraded, down] {
            Image::from_bytes(icon_file(&v).1).expect("a valid PNG");
        }
    }

    #[test]
    fn the_update_item_names_the_version() {
        assert_eq!(UpdateLine::Available("0.2.0".into()).label(), ("Update available — version 0.2.0".into(), true));
        assert!(!UpdateLine::Installing("0.2.0".into()).label().1);
        assert_eq!(UpdateLine::Refused("0.2.0".into()).label().0, "Update 0.2.0 refused: not signed by MetaClaw");
    }
}
