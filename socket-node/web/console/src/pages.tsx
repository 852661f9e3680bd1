// The console's pages after sign-in, one line each: the path, the permission that shows it in
// the navigation (the server decides anyway), its name, and what draws it.

import type { ComponentChildren, FunctionComponent } from "preact";
import { Agents } from "./pages/admin/agents";
import { Blocks } from "./pages/admin/blocks";
import { Chatbots } from "./pages/admin/chatbots";
import { Roles } from "./pages/admin/roles";
import { Settings } from "./pages/admin/settings";
import { LiveAnalytics } from "./pages/analytics/live";
import { Reports } from "./pages/analytics/reports";
import { AnalyticsStatus } from "./pages/analytics/status";
import { Inbox } from "./pages/inbox";
import { strings } from "./strings";

const t = strings.nav;

export interface Page {
  /** The path under /console, or a pattern whose first group is handed to `draw`. */
  path: RegExp;
  /** Shown in the navigation at this address, when the user holds `permission`. */
  nav?: { label: string; href: string; permission?: string };
  draw: (param: string | null) => ComponentChildren;
}

/** A page at `/<href>` without a parameter, linked as `label` for holders of `permission`. */
const admin = (href: string, label: string, permission: string, Draw: FunctionComponent): Page => ({
  path: new RegExp(`^${href}$`),
  nav: { label, href, permission },
  draw: () => <Draw />,
});

export const PAGES: Page[] = [
  {
    path: /^\/(?:chatrooms\/([^/]+))?$/,
    nav: { label: t.inbox, href: "/" },
    draw: (id) => <Inbox open={id} />,
  },
  admin("/agents", t.agents, "users:manage", Agents),
  admin("/roles", t.roles, "roles:manage", Roles),
  admin("/chatbots", t.chatbots, "chatbots:manage", Chatbots),
  admin("/blocks", t.blocks, "chatrooms:moderate", Blocks),
  admin("/settings", t.settings, "tenant:manage", Settings),
  {
    path: /^\/analytics$/,
    nav: { label: t.analytics, href: "/analytics", permission: "analytics:view" },
    draw: () => <AnalyticsStatus />,
  },
  { path: /^\/analytics\/live$/, draw: () => <LiveAnalytics /> },
  { path: /^\/analytics\/reports$/, draw: () => <Reports /> },
];
