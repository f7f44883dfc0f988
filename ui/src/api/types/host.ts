// Hand-written: what the desktop shell injects before the UI loads (`window.__METACLAW__`); not
// an admin API type, so nothing in Rust generates it. The browser has none.

export interface HostBridge {
  /** e.g. "http://127.0.0.1:30000"; default: the page's own origin */
  base?: string;
  token?: string;
  /** true inside the desktop app */
  desktop?: boolean;
  /** Autostart at login, provided by the desktop shell. */
  autostart?: {
    get(): Promise<boolean>;
    set(on: boolean): Promise<void>;
  };
}
