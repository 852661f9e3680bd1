// The console's frame: who is signed in decides between the account pages and the app; the path
// decides the page. Pages a user may not use are not linked (the server refuses them anyway).

import { useEffect, useState } from "preact/hooks";
import { alert, askForNotifications } from "./alerts";
import { AvailabilitySwitch } from "./availability";
import { live } from "./live";
import { PAGES } from "./pages";
import { ForgotPassword, Login, SetPassword, SignUp } from "./pages/auth";
import { navigate, ROOT, usePath } from "./router";
import { session } from "./session";
import { strings } from "./strings";

const t = strings.nav;

/** A page below a navigation entry (the reports below Analytics) keeps the entry current. */
const under = (path: string, href: string | undefined) =>
  !!href && href !== "/" && path.startsWith(`${href}/`);

const PUBLIC = ["/login", "/signup", "/forgot-password", "/reset-password", "/accept-invitation"];

export function App() {
  const path = usePath();
  const [state, setState] = useState(session.state);
  useEffect(() => {
    const unsubscribe = session.subscribe(() => setState(session.state));
    setState(session.state); // it may have changed before this effect ran
    return unsubscribe;
  }, []);
  useEffect(() => {
    if (state.status === "signed_in") live.start();
    else live.stop();
  }, [state.status]);
  const open = /^\/chatrooms\/([^/]+)$/.exec(path)?.[1] ?? null;
  useEffect(() => {
    live.onAlert = (event) => alert(event, open);
  }, [open]);

  if (state.status === "loading") return <p class="loading">{strings.common.loading}</p>;
  if (path === "/reset-password") return <SetPassword invitation={false} />;
  if (path === "/accept-invitation") return <SetPassword invitation={true} />;
  if (state.status === "signed_out") {
    if (path === "/signup") return <SignUp />;
    if (path === "/forgot-password") return <ForgotPassword />;
    if (!PUBLIC.includes(path)) queueMicrotask(() => navigate(`${ROOT}/login`, true));
    return <Login />;
  }
  if (PUBLIC.includes(path)) queueMicrotask(() => navigate(`${ROOT}/`, true));
  const { me } = state;
  const page = PAGES.find((p) => p.path.test(path));
  const param = page?.path.exec(path)?.[1] ?? null;
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href={`${ROOT}/`}>
          {strings.common.brand}
        </a>
        <nav aria-label={t.label}>
          {PAGES.filter((p) => p.nav && (!p.nav.permission || session.can(p.nav.permission))).map((p) => (
            <a
              key={p.nav?.href}
              href={`${ROOT}${p.nav?.href}`}
              aria-current={p === page || under(path, p.nav?.href) ? "page" : undefined}
            >
              {p.nav?.label}
            </a>
          ))}
        </nav>
        <span class="who" title={t.who(me.user.name, me.tenant.name)}>
          {t.who(me.user.name, me.tenant.name)}
        </span>
        <AvailabilitySwitch />
        <button type="button" class="small" onClick={askForNotifications}>
          {t.notifyMe}
        </button>
        <button type="button" class="small" onClick={() => void session.logout()}>
          {t.signOut}
        </button>
      </header>
      {page ? (
        page.draw(param)
      ) : (
        <main class="placeholder">
          <h1>{t.notFound}</h1>
          <p>
            {t.noPage} <a href={`${ROOT}/`}>{t.goToInbox}</a>.
          </p>
        </main>
      )}
    </div>
  );
}
