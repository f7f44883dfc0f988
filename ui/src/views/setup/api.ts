// The setup resource's calls (GET/PUT /api/setup, POST /api/setup/test), on the shared client.

import type { Client } from "../../api/client";
import type { SetupAction, SetupChange, SetupStatus, SetupTest, SetupTestResult } from "../../api/generated/setup";

export const setupStatus = (api: Client, signal?: AbortSignal) => api.request<SetupStatus>("GET", "/api/setup", undefined, { signal });
export const setSetup = (api: Client, action: SetupAction) => api.request<SetupStatus>("PUT", "/api/setup", { action } satisfies SetupChange);
export const testUpstream = (api: Client, t: SetupTest) => api.request<SetupTestResult>("POST", "/api/setup/test", t);
