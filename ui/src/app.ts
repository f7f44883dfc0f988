// The shared app context views receive: the API client, the event bus and navigation.

import type { Client } from "./api/client";
import type { EngineEvent, Status } from "./api/types";

export interface View {
  /** The view's root; the shell puts it in <main>. */
  el: HTMLElement;
  /** Called when the view is left (abort timers and requests). */
  destroy?: () => void;
  /** Called when the route changes within the same view (e.g. #/turns/42 after #/turns). */
  update?: (params: string[]) => void;
}

export type Listener = (e: EngineEvent) => void;

export interface App {
  api: Client;
  /** Subscribe to engine events; returns the unsubscribe function. */
  on(l: Listener): () => void;
  navigate(hash: string): void;
  /** Latest /api/status, refreshed by the shell. */
  status: Status | null;
  refreshStatus(): Promise<void>;
}
