// Writes the console's API types from the functions' OpenAPI documents (console/api/*.json,
// kept equal to what each function serves by a test in its crate), so the two cannot drift.
// `npm run build` and `npm run check` run it first; the output is not committed.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import openapiTS, { astToString } from "openapi-typescript";

const from = "console/api";
const to = "console/src/api/generated";
mkdirSync(to, { recursive: true });
for (const file of readdirSync(from).filter((name) => name.endsWith(".openapi.json"))) {
  const document = JSON.parse(readFileSync(`${from}/${file}`, "utf8"));
  const ast = await openapiTS(document);
  const name = file.replace(".openapi.json", "");
  writeFileSync(
    `${to}/${name}.ts`,
    `// Generated from ${from}/${file} by gen-api.mjs: do not edit.\n${astToString(ast)}`,
  );
}
