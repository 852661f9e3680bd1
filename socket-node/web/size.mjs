// Prints the gzip size of each built web file against its budget. `npm run size` (and
// scripts/bench/widget-size) runs it alone; the build prints it too. Figures, not a test.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const KB = 1024;

function files() {
  const named = (dir, prefix, ext) => readdirSync(dir).filter((n) => n.startsWith(prefix) && n.endsWith(ext));
  return [
    { what: "loader", file: "dist/widget.js", budget: 5 * KB },
    ...named("dist/widget", "ui-", ".js").map((n) => ({
      what: "chat UI",
      file: `dist/widget/${n}`,
      budget: 30 * KB,
    })),
    ...named("dist/console", "app-", ".js").map((n) => ({
      what: "console",
      file: `dist/console/${n}`,
      budget: 150 * KB,
    })),
    ...named("dist/console", "app-", ".css").map((n) => ({
      what: "console",
      file: `dist/console/${n}`,
      budget: 150 * KB,
    })),
    // Loaded with import() when a page needs it (the reports' charts), not at first load.
    ...named("dist/console", "chunk-", ".js").map((n) => ({
      what: "lazy",
      file: `dist/console/${n}`,
      budget: 60 * KB,
    })),
  ];
}

export function report() {
  for (const { what, file, budget } of files()) {
    const bytes = readFileSync(file);
    const gzip = gzipSync(bytes, { level: 9 }).length;
    const verdict = gzip <= budget ? "within" : "OVER";
    console.log(
      `${what.padEnd(8)} ${kb(bytes.length)} raw ${kb(gzip)} gzip, ${verdict} its ${kb(budget)} budget  (${file})`,
    );
  }
}

const kb = (bytes) => `${(bytes / KB).toFixed(1).padStart(5)} KB`;

if (process.argv[1] === fileURLToPath(import.meta.url)) report();
