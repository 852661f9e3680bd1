// Every error code the APIs answer, as a sentence a person can act on: the sentences are the
// `errors` section of strings.ts, this module picks one. A code not listed there still shows the
// server's own message, never nothing.

import { ApiError } from "./api/http";
import { strings } from "./strings";

/** The sentences by code, looked up with any code a server answers. */
const SENTENCES: Record<string, string | undefined> = strings.errors.codes;

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

/** Each field's rule, looked up with the field a refusal names. */
const FIELD_SENTENCES: Record<string, string | undefined> = strings.errors.fields;

/** The sentence for a refused field: its rule, naming the entry when the field is a list. */
export function fieldSentence(refusal: { field: string; index: number | null }, entries?: string[]): string {
  const rule = FIELD_SENTENCES[refusal.field] ?? strings.errors.codes.invalid_body;
  const entry = refusal.index === null ? undefined : entries?.[refusal.index];
  return entry === undefined ? rule : strings.errors.entryRefused(entry, rule);
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
    return (where && SENTENCES[`${where}:${code}`]) || SENTENCES[code] || message || code;
  }
  return strings.errors.codes.internal_error;
}
