// Browser tests of the widget and the console: Debian's Chromium (never a downloaded browser) against a running
// Parley at PARLEY_URL, which scripts/test starts with scripts/dev. Screenshots go to
// PARLEY_SCREENSHOTS (default test-results/screenshots) to be looked at.
import { execFileSync } from "node:child_process";
import { defineConfig } from "@playwright/test";

function chromium(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("Chromium is missing: scripts/test installs it (apt-get install chromium)");
  }
}

export default defineConfig({
  testDir: ".",
  testMatch: ["widget/tests/**/*.spec.ts", "console/tests/**/*.spec.ts"],
  outputDir: "test-results/output",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  workers: 2,
  reporter: [["list"]],
  use: {
    baseURL: process.env.PARLEY_URL,
    launchOptions: {
      executablePath: chromium(),
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    },
    trace: "retain-on-failure",
  },
});
