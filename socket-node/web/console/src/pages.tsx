// The console's pages after sign-in, one line each: the path, the permission that shows it in
// the navigation (the server decides anyway), its name, and what draws it.

import type { ComponentChildren } from "preact";
import { Reports } from "./pages/analytics/reports";
import { AnalyticsStatus } from "./pages/analytics/status";
import { Inbox } from "./pages/inbox";

export interface Page {
  /** The path under /console, or a pattern whose first group is handed to `draw`. */
  path: RegExp;
  /** Shown in the navigation at this address, when the user holds `permission`. */
  nav?: { label: string; href: string; permission?: string };
  draw: (param: string | null) => ComponentChildren;
}

export const PAGES: Page[] = [
  {
    path: /^\/(?:chatrooms\/([^/]+))?$/,
    nav: { label: "Inbox", href: "/" },
    draw: (id) => <Inbox open={id} />,
  },
  {
    path: /^\/analytics$/,
    nav: { label: "Analytics", href: "/analytics", permission: "analytics:view" },
    draw: () => <AnalyticsStatus />,
  },
  { path: /^\/analytics\/reports$/, draw: () => <Reports /> },
];
