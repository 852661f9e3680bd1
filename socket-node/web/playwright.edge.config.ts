// Browser tests of Parley's real topology (scripts/stack): the widget and the console over
// https and wss through nginx. PARLEY_STACK_STATE names the stack's stack.json (its URL, the
// certificate Chromium is told to trust, each process's pid and address); scripts/test sets it
// and PARLEY_URL, and NODE_EXTRA_CA_CERTS for the tests' own requests.
import { readFileSync } from "node:fs";
import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

const state = process.env.PARLEY_STACK_STATE;
if (!state) throw new Error("PARLEY_STACK_STATE is not set: run the edge tests through scripts/test");
const stack = JSON.parse(readFileSync(state, "utf8")) as { url: string; spki: string };

export default defineConfig({
  ...base,
  testMatch: ["edge/tests/**/*.spec.ts"],
  outputDir: "test-results/edge",
  timeout: 180_000,
  workers: 1,
  use: {
    ...base.use,
    baseURL: stack.url,
    launchOptions: {
      ...base.use?.launchOptions,
      // The stack's certificate comes from a certificate authority made for the run: Chromium
      // trusts that certificate's key and no other.
      args: [...(base.use?.launchOptions?.args ?? []), `--ignore-certificate-errors-spki-list=${stack.spki}`],
    },
  },
});
