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

export function sentence(error: unknown): string {
  if (error instanceof ApiError) return SENTENCES[error.code] ?? error.message;
  if (error && typeof error === "object" && "code" in error) {
    const { code, message } = error as { code: string; message?: string };
    return SENTENCES[code] ?? message ?? code;
  }
  return SENTENCES.internal_error ?? "Something went wrong.";
}
