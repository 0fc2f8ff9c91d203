// Runs once when the Next server starts: production refuses to start without its secrets (lib/smart/config.ts), and
// any server refuses a malformed ROLE_MAPPING (lib/smart/roles.ts).
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { assertProductionSecrets } = await import("./lib/smart/config");
  assertProductionSecrets();
  // A malformed ROLE_MAPPING stops the start with its reason, rather than refusing every launch.
  const { roleMappingFromEnv } = await import("./lib/smart/roles");
  roleMappingFromEnv();
}
