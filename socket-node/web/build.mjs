// Builds the widget into dist/: the chat UI first, under a content-hashed name (served as
// immutable), then the loader (/widget.js, served with a short cache) with the UI's name built
// in. Prints the gzip size of each against its budget (the blueprint's: loader 5 KB, UI 30 KB).
import { rmSync } from "node:fs";
import { basename } from "node:path";
import { build } from "esbuild";
import { report } from "./size.mjs";

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

report();
