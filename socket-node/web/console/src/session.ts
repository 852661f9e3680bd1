// Who is signed in. The access token lives only in this module's memory; the refresh token in an
// HttpOnly cookie the tenant function sets on its auth routes (`X-Parley-Refresh: cookie`), which
// no script can read. A page load restores the session from that cookie; the access token is
// renewed a minute before it expires, and once more when a call finds it expired.

import { ApiError, BASE, type Call, call, callBlob } from "./api/http";
import type { Me, SignedUp, SignUp, Tokens } from "./api/types";

export type SessionState =
  | { status: "loading" }
  | { status: "signed_out"; reason?: string }
  | { status: "signed_in"; me: Me };

const COOKIE_MODE = { "x-parley-refresh": "cookie" };
const RENEW_BEFORE_MS = 60_000;

class Session {
  state: SessionState = { status: "loading" };
  private token: string | null = null;
  private renewal: number | undefined;
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly tokenListeners = new Set<(token: string) => void>();

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called with each new access token (the live socket re-authenticates with it). */
  onToken(listener: (token: string) => void): () => void {
    this.tokenListeners.add(listener);
    return () => this.tokenListeners.delete(listener);
  }

  accessToken(): string | null {
    return this.token;
  }

  can(permission: string): boolean {
    return this.state.status === "signed_in" && this.state.me.permissions.includes(permission);
  }

  /** On page load: the refresh cookie, if there is one, signs the user back in. */
  async restore() {
    if (!(await this.refresh())) this.set({ status: "signed_out" });
  }

  async login(email: string, password: string) {
    const tokens = await call<Tokens>("POST", `${BASE.tenant}/auth/login`, {
      body: { email, password },
      headers: COOKIE_MODE,
    });
    await this.start(tokens);
  }

  async signUp(form: SignUp) {
    const answer = await call<SignedUp>("POST", `${BASE.tenant}/tenants`, {
      body: form,
      headers: COOKIE_MODE,
    });
    await this.start(answer.tokens);
  }

  async logout() {
    clearTimeout(this.renewal);
    this.token = null;
    await call("POST", `${BASE.tenant}/auth/logout`, { body: {}, headers: COOKIE_MODE }).catch(
      () => undefined,
    );
    this.set({ status: "signed_out" });
  }

  /** Re-reads who the user is (after an admin changed their own roles, say). */
  async reload() {
    const me = await this.api<Me>("GET", `${BASE.tenant}/me`);
    this.set({ status: "signed_in", me });
  }

  /** An authenticated call; an expired token is renewed once and the call made again. */
  api<T>(method: string, url: string, body?: unknown): Promise<T> {
    const options = (): Call => ({ token: this.token, ...(body === undefined ? {} : { body }) });
    return this.authorised(() => call<T>(method, url, options()));
  }

  /** An authenticated GET of a file (a CSV report): the token goes in a header, never the URL. */
  blob(url: string): Promise<Blob> {
    return this.authorised(() => callBlob(url, { token: this.token }));
  }

  private async authorised<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || error.code === "invalid_credentials")
        throw error;
      if (!(await this.refresh())) {
        this.set({ status: "signed_out", reason: error.code });
        throw error;
      }
      return attempt();
    }
  }

  private async start(tokens: Tokens) {
    this.accept(tokens);
    await this.reload();
  }

  /** Renews the access token from the cookie; false when there is no valid session. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= call<Tokens>("POST", `${BASE.tenant}/auth/refresh`, {
      body: {},
      headers: COOKIE_MODE,
    })
      .then(async (tokens) => {
        this.accept(tokens);
        if (this.state.status !== "signed_in") await this.reload();
        return true;
      })
      .catch(() => false)
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  private accept(tokens: Tokens) {
    this.token = tokens.accessToken;
    clearTimeout(this.renewal);
    const delay = Math.max(5_000, tokens.expiresIn * 1000 - RENEW_BEFORE_MS);
    this.renewal = window.setTimeout(() => {
      void this.refresh().then((ok) => {
        if (!ok) this.set({ status: "signed_out", reason: "session_ended" });
      });
    }, delay);
    for (const listener of this.tokenListeners) listener(tokens.accessToken);
  }

  private set(state: SessionState) {
    this.state = state;
    for (const listener of this.listeners) listener();
  }
}

export const session = new Session();
