import { describe, expect, it } from "vitest";
import { APP_CLIENT_ID, BULK_CLIENT_ID, ClientRegistry, defaultClients, mergeClients, parseClientsJson } from "./clients";

describe("client registrations", () => {
  it("registers the app's confidential client and the bulk client by default, from the environment", () => {
    const clients = defaultClients({ SANDBOX_APP_CLIENT_SECRET: "s3cret", SANDBOX_APP_REDIRECT_PREFIXES: "https://app.example/callback" });
    const app = clients.find((client) => client.clientId === APP_CLIENT_ID);
    expect(app?.clientSecret).toBe("s3cret");
    expect(app?.redirectUriPrefixes).toEqual(["https://app.example/callback"]);
    expect(clients.find((client) => client.clientId === BULK_CLIENT_ID)?.clientSecret).toBeUndefined();
  });

  it("reads a clients file as an array or { clients }, and rejects malformed entries", () => {
    const entry = { clientId: "other", clientSecret: "x", redirectUriPrefixes: ["http://localhost:"] };
    expect(parseClientsJson(JSON.stringify([entry]))[0]?.clientId).toBe("other");
    expect(parseClientsJson(JSON.stringify({ clients: [entry] }))[0]?.clientSecret).toBe("x");
    expect(() => parseClientsJson(JSON.stringify([{ clientSecret: "no id" }]))).toThrow();
  });

  it("lets a file replace a default registration by client id", () => {
    const merged = mergeClients(defaultClients(), [{ clientId: APP_CLIENT_ID, clientSecret: "from-file" }]);
    expect(merged).toHaveLength(2);
    expect(merged.find((client) => client.clientId === APP_CLIENT_ID)?.clientSecret).toBe("from-file");
  });

  it("allows redirect URIs by registered prefix only, never with a fragment", () => {
    const registry = new ClientRegistry(defaultClients());
    const app = registry.get(APP_CLIENT_ID);
    if (!app) throw new Error("no app client");
    expect(registry.isRedirectUriAllowed(app, "http://localhost:3000/callback")).toBe(true);
    expect(registry.isRedirectUriAllowed(app, "http://127.0.0.1:41234/callback")).toBe(true);
    expect(registry.isRedirectUriAllowed(app, "https://evil.example/callback")).toBe(false);
    expect(registry.isRedirectUriAllowed(app, "http://localhost:3000/callback#x")).toBe(false);
  });

  it("compares secrets exactly", () => {
    const registry = new ClientRegistry(defaultClients({ SANDBOX_APP_CLIENT_SECRET: "abc" }));
    const app = registry.get(APP_CLIENT_ID);
    if (!app) throw new Error("no app client");
    expect(registry.checkSecret(app, "abc")).toBe(true);
    expect(registry.checkSecret(app, "abcd")).toBe(false);
    expect(registry.checkSecret(app, "")).toBe(false);
  });
});
