// Every error code the APIs answer, as a sentence a person can act on. A code not listed here
// still shows the server's own message, never nothing.

import { ApiError } from "./api/http";

const SENTENCES: Record<string, string> = {
  network_error: "Parley can't be reached. Check your connection and try again.",
  invalid_credentials: "That email and password don't match an account.",
  user_disabled: "This account is disabled. Ask an admin of your team.",
  ip_not_allowed: "Your account can't sign in from this network.",
  rate_limited: "Too many attempts. Wait a minute, then try again.",
  email_taken: "An account with this email already exists. Sign in instead.",
  weak_password: "Choose a longer password: at least 12 characters that aren't easy to guess.",
  invalid_reset_token: "This link isn't valid any more. Ask for a new one.",
  reset_token_expired: "This link has expired. Ask for a new one.",
  invalid_body: "Some of the details aren't valid. Check the fields and try again.",
  permission_denied: "You don't have permission to do that.",
  missing_token: "Your session has ended. Sign in again.",
  invalid_token: "Your session has ended. Sign in again.",
  token_expired: "Your session has ended. Sign in again.",
  invalid_refresh_token: "Your session has ended. Sign in again.",
  refresh_token_reused: "For your safety you were signed out everywhere. Sign in again.",
  chatroom_already_claimed: "Another agent got there first.",
  too_many_chatrooms: "You're at your limit of open conversations. Close one first.",
  chatroom_closed: "This conversation has ended.",
  not_in_chatroom: "You're not in this conversation.",
  invalid_state: "This conversation can't take that right now (the visitor may be away).",
  message_too_large: "That message is too long.",
  "invite:email_taken": "Someone already has a Parley account with this email.",
  "role:permission_denied": "You can't give a role a permission you don't hold yourself.",
  "user:permission_denied": "You can't hand out a permission you don't hold yourself.",
  last_admin: "This is your team's last admin. Make someone else an admin first.",
  unknown_role: "One of those roles no longer exists. Reload the page and choose again.",
  user_not_found: "This person is no longer on your team. Reload the page.",
  role_not_found: "This role no longer exists. Reload the page.",
  role_name_taken: "Your team already has a role with this name. Choose another.",
  role_protected: "The admin role always holds every permission: it can't be renamed, changed or deleted.",
  role_in_use: "Some people still hold this role. Take it from them first, then delete it.",
  chatbot_not_found: "This chatbot no longer exists. Reload the page.",
  chatbot_changed: "Someone changed this chatbot at the same moment. Reload the page and try again.",
  too_many_origins: "A chatbot can allow at most 50 websites.",
  grace_too_long: "The old key can keep working for 7 days at most.",
  route_not_found: "Parley doesn't know this request. Reload the page.",
  body_too_large: "That's too much to send at once. Shorten it and try again.",
  malformed_json: "Something went wrong on our side. Reload the page and try again.",
  unsupported_media_type: "Something went wrong on our side. Reload the page and try again.",
  invalid_refresh_mode: "Something went wrong on our side. Reload the page and try again.",
  session_ended: "Your session has ended. Sign in again.",
  mismatch: "The two passwords differ. Type the same password twice.",
  internal_error: "Something went wrong on our side. Try again in a moment.",
  service_unavailable: "Parley is starting up or a service is down. Try again in a moment.",
  invalid_date: "Write the days as year-month-day, e.g. 2026-11-25.",
  invalid_range: "The first day must come before the last, and a range can't be longer than 366 days.",
  invalid_format: "Reports can only be downloaded as CSV.",
  too_many_rows: "That range has more than 10,000 conversations. Choose a shorter range.",
  analytics_unavailable: "Analytics needs MongoDB, Redis and Kafka, and this Parley runs without them.",
  status_token_required:
    "This Parley keeps its system status behind a status token, so the console can't show it. Ask whoever runs it.",
};

/**
 * What the server said about one field of a refused body (422 `invalid_body`): the field's path
 * as the client sent it (`ipAllowList[1]`, `settings.colour`) and the reason in its words.
 * The server's message is either "the body does not have the expected shape: <field>: <reason>
 * at line ..." or "<field> is ...".
 */
export function invalidField(error: unknown): { field: string; index: number | null; reason: string } | null {
  if (!(error instanceof ApiError) || error.code !== "invalid_body") return null;
  const match =
    /expected shape: ([\w.[\]]+): (.*?)(?: at line \d+ column \d+)?$/.exec(error.message) ??
    /^([\w.[\]]+) (is .*)$/.exec(error.message);
  if (!match?.[1]) return null;
  const index = /\[(\d+)\]/.exec(match[1])?.[1];
  return {
    field: match[1].replace(/\[\d+\]/g, ""),
    index: index === undefined ? null : Number(index),
    reason: match[2] ?? "",
  };
}

/** Each field's rule, said to a person, for a refusal `invalidField` finds. */
const FIELD_SENTENCES: Record<string, string> = {
  name: "Enter a name of 1 to 100 characters, without line breaks.",
  email: "Enter a valid email address, like ada@example.com.",
  emailSenderName: "Enter a name of 1 to 100 characters, or leave it empty to use the team's name.",
  roleIds: "One of those roles no longer exists. Reload the page and choose again.",
  grants: "That permission doesn't exist. Reload the page.",
  denies: "That permission doesn't exist. Reload the page.",
  permissions: "That permission doesn't exist. Reload the page.",
  "assigning.maxConcurrent": "Choose a number from 1 to 100.",
  ipAllowList: "Write one IP address (203.0.113.7) or network (10.0.0.0/8) per line.",
  allowedOrigins:
    "Write one website per line as https://host or https://host:port, https://*.example.com for its subdomains, or * for anywhere.",
  "settings.colour": "Choose a colour written #rrggbb, like #2563eb.",
  "settings.launcherText": "Write the button's text in 1 to 40 characters.",
  "settings.greeting": "Write a greeting of 1 to 500 characters.",
  "settings.position": "Choose bottom right or bottom left.",
  graceSeconds: "The old key can keep working for 7 days at most.",
};

/** The sentence for a refused field: its rule, naming the entry when the field is a list. */
export function fieldSentence(refusal: { field: string; index: number | null }, entries?: string[]): string {
  const rule = FIELD_SENTENCES[refusal.field] ?? SENTENCES.invalid_body ?? "";
  const entry = refusal.index === null ? undefined : entries?.[refusal.index];
  return entry === undefined ? rule : `“${entry}” isn't accepted. ${rule}`;
}

/**
 * The sentence for an error. `where` names the action when a code reads differently there
 * (`invite:email_taken`), looked up before the code alone.
 */
export function sentence(error: unknown, where?: string): string {
  if (error instanceof ApiError)
    return (where && SENTENCES[`${where}:${error.code}`]) || SENTENCES[error.code] || error.message;
  if (error && typeof error === "object" && "code" in error) {
    const { code, message } = error as { code: string; message?: string };
    return SENTENCES[code] ?? message ?? code;
  }
  return SENTENCES.internal_error ?? "Something went wrong.";
}
