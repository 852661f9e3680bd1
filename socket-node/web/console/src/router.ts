// The console's addresses: the History API and a hook that re-renders on navigation. Every path
// under /console answers the same page (the socket-node's fallback), so links work when opened
// directly, from an email say.

import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();
window.addEventListener("popstate", () => {
  for (const listener of listeners) listener();
});

export const ROOT = "/console";

export function navigate(path: string, replace = false) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

/** The path under /console ("/", "/login", "/chatrooms/…"). */
export function usePath(): string {
  const [path, setPath] = useState(current());
  useEffect(() => {
    const update = () => setPath(current());
    listeners.add(update);
    return () => listeners.delete(update);
  }, []);
  return path;
}

function current(): string {
  const path = location.pathname.slice(ROOT.length) || "/";
  return path.length > 1 ? path.replace(/\/$/, "") : path;
}

/** A same-app link navigates without reloading the page. */
document.addEventListener("click", (event) => onLink(event));

function onLink(event: MouseEvent) {
  const anchor = (event.target as HTMLElement).closest("a");
  if (!anchor || anchor.target || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0)
    return;
  const url = new URL(anchor.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(ROOT)) return;
  event.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}
