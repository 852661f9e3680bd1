// Builds the web apps into dist/, which the socket-node serves. The widget: the chat UI first,
// under a content-hashed name (served as immutable), then the loader (/widget.js, served with a
// short cache) with the UI's name built in. The console: its script and styles under hashed
// names, and its page (console/index.html) naming them; code a page loads with `import()` (the
// reports' charts) is split into chunks of its own, out of the first load. Prints the gzip size of each against its
// budget (the blueprint's: loader 5 KB, UI 30 KB; the console's first load 150 KB).
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { build } from "esbuild";
import { report } from "./size.mjs";

await import("./gen-api.mjs");

const common = { bundle: true, minify: true, target: "es2020", legalComments: "none", logLevel: "warning" };

rmSync("dist", { recursive: true, force: true });

const ui = await build({
  ...common,
  entryPoints: { ui: "widget/src/ui/index.ts" },
  outdir: "dist/widget",
  entryNames: "[name]-[hash]",
  format: "esm",
  metafile: true,
});
const uiFile = Object.keys(ui.metafile.outputs).find((path) => path.endsWith(".js"));
if (!uiFile) throw new Error("esbuild wrote no UI bundle");

await build({
  ...common,
  entryPoints: ["widget/src/loader.ts"],
  outfile: "dist/widget.js",
  format: "iife",
  define: { __PARLEY_UI__: JSON.stringify(`widget/${basename(uiFile)}`) },
});

const console = await build({
  ...common,
  entryPoints: { app: "console/src/main.tsx" },
  outdir: "dist/console",
  entryNames: "[name]-[hash]",
  chunkNames: "chunk-[hash]",
  splitting: true,
  format: "esm",
  jsx: "automatic",
  jsxImportSource: "preact",
  metafile: true,
});
const outputs = Object.keys(console.metafile.outputs).map((path) => basename(path));
const page = readFileSync("console/index.html", "utf8")
  .replace("{{js}}", outputs.find((name) => name.startsWith("app-") && name.endsWith(".js")) ?? "")
  .replace("{{css}}", outputs.find((name) => name.startsWith("app-") && name.endsWith(".css")) ?? "");
writeFileSync("dist/console/index.html", page);

report();
