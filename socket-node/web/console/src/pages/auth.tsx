// Signing in and out of the console: sign-in, sign-up, the forgotten password, and the two pages
// the emails link to (a password reset and an invitation), whose token comes in the address's
// fragment (`#token=...`), which browsers never send to a server; it is read once and removed.

import { useState } from "preact/hooks";
import { ApiError, BASE, call } from "../api/http";
import { sentence } from "../errors";
import { navigate, ROOT } from "../router";
import { session } from "../session";
import { strings } from "../strings";
import { AuthFrame, Field, FormError } from "../ui";

/** Runs a form's action, keeping its error sentence and whether it is busy. */
function useSubmit(action: (data: FormData) => Promise<void>) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action(new FormData(event.currentTarget as HTMLFormElement));
    } catch (failure) {
      setError(sentence(failure));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, onSubmit };
}

const t = strings.auth;

const text = (data: FormData, name: string) => String(data.get(name) ?? "").trim();

export function Login() {
  const reason = session.state.status === "signed_out" ? session.state.reason : undefined;
  const { error, busy, onSubmit } = useSubmit(async (data) => {
    await session.login(text(data, "email"), String(data.get("password") ?? ""));
    navigate(`${ROOT}/`, true);
  });
  return (
    <AuthFrame title={t.signIn}>
      <form onSubmit={onSubmit}>
        <FormError text={error ?? (reason ? sentence({ code: reason }) : null)} />
        <Field label={strings.common.email} name="email" type="email" autoComplete="username" required />
        <Field label={t.password} name="password" type="password" autoComplete="current-password" required />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t.signingIn : t.signIn}
        </button>
      </form>
      <p class="aside">
        <a href={`${ROOT}/forgot-password`}>{t.forgotPassword}</a> · {t.newToParley}{" "}
        <a href={`${ROOT}/signup`}>{t.createAnAccount}</a>
      </p>
    </AuthFrame>
  );
}

export function SignUp() {
  const { error, busy, onSubmit } = useSubmit(async (data) => {
    await session.signUp({
      tenantName: text(data, "tenantName"),
      adminName: text(data, "adminName"),
      adminEmail: text(data, "adminEmail"),
      adminPassword: String(data.get("adminPassword") ?? ""),
    });
    navigate(`${ROOT}/`, true);
  });
  return (
    <AuthFrame title={t.signUpTitle}>
      <form onSubmit={onSubmit}>
        <FormError text={error} />
        <Field label={t.tenantName} name="tenantName" autoComplete="organization" required />
        <Field label={t.yourName} name="adminName" autoComplete="name" required />
        <Field label={strings.common.email} name="adminEmail" type="email" autoComplete="username" required />
        <Field
          label={t.password}
          name="adminPassword"
          type="password"
          autoComplete="new-password"
          minLength={12}
          required
        />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t.creating : t.createAccount}
        </button>
      </form>
      <p class="aside">
        {t.haveAccount} <a href={`${ROOT}/login`}>{t.signIn}</a>
      </p>
    </AuthFrame>
  );
}

export function ForgotPassword() {
  const [sent, setSent] = useState(false);
  const { error, busy, onSubmit } = useSubmit(async (data) => {
    await call("POST", `${BASE.tenant}/auth/password-reset`, { body: { email: text(data, "email") } });
    setSent(true);
  });
  return (
    <AuthFrame title={t.resetTitle}>
      {sent ? (
        <p role="status">{t.resetSent}</p>
      ) : (
        <form onSubmit={onSubmit}>
          <FormError text={error} />
          <Field label={strings.common.email} name="email" type="email" autoComplete="username" required />
          <button type="submit" class="primary" disabled={busy}>
            {t.sendLink}
          </button>
        </form>
      )}
      <p class="aside">
        <a href={`${ROOT}/login`}>{t.backToSignIn}</a>
      </p>
    </AuthFrame>
  );
}

/** The token in the address's fragment, taken out of the address so it stays out of history. */
function tokenFromFragment(): string {
  const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? "";
  if (location.hash) history.replaceState(null, "", location.pathname);
  return token;
}

/**
 * Setting a password from an email's link: a reset, or an invitation's first password. The
 * person then is signed in with it (the email address is asked for that: the token does not
 * name it) and lands in the inbox.
 */
export function SetPassword({ invitation }: { invitation: boolean }) {
  const [token] = useState(tokenFromFragment);
  const [signInFailed, setSignInFailed] = useState<string | null>(null);
  const { error, busy, onSubmit } = useSubmit(async (data) => {
    const password = String(data.get("password") ?? "");
    if (password !== String(data.get("confirm") ?? ""))
      throw new ApiError(422, "mismatch", "The two passwords differ.");
    await call("POST", `${BASE.tenant}/auth/password-reset/confirm`, { body: { token, password } });
    try {
      await session.login(text(data, "email"), password);
      navigate(`${ROOT}/`, true);
    } catch (failure) {
      setSignInFailed(sentence(failure));
    }
  });
  const title = invitation ? t.invitationTitle : t.newPasswordTitle;
  if (!token) {
    return (
      <AuthFrame title={title}>
        <p role="alert">{t.linkIncomplete}</p>
      </AuthFrame>
    );
  }
  if (signInFailed) {
    return (
      <AuthFrame title={title}>
        <p role="status">{t.setButSignInFailed(signInFailed)}</p>
        <a class="primary button" href={`${ROOT}/login`}>
          {t.signIn}
        </a>
      </AuthFrame>
    );
  }
  return (
    <AuthFrame title={title}>
      <form onSubmit={onSubmit}>
        <FormError text={error} />
        <Field label={strings.common.email} name="email" type="email" autoComplete="username" required />
        <Field
          label={t.newPassword}
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={12}
          required
        />
        <Field label={t.repeatPassword} name="confirm" type="password" autoComplete="new-password" required />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t.setting : invitation ? t.joinAndSignIn : t.setAndSignIn}
        </button>
      </form>
    </AuthFrame>
  );
}
