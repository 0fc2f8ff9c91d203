import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";

// The wasm package imports its .wasm as an ES module, which Node needs a flag for; instantiate it by hand instead.
export async function loadSchemaEngine(adapter: object): Promise<SchemaEngine> {
  const require = createRequire(import.meta.url);
  const pkgDir = path.dirname(require.resolve("@prisma/schema-engine-wasm"));
  const bindings = await import(pathToFileURL(path.join(pkgDir, "schema_engine_bg.js")).href);
  const bytes = await readFile(path.join(pkgDir, "schema_engine_bg.wasm"));
  const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": bindings });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  return bindings.SchemaEngine.new({ datamodels: undefined }, () => {}, adapter) as Promise<SchemaEngine>;
}
