import { describe, expect, it } from "vitest";
import { decryptString, deriveKey, encryptString } from "./crypto";

const key = deriveKey("x".repeat(32));

describe("token encryption", () => {
  it("round-trips and never contains the plaintext", () => {
    const plain = JSON.stringify({ access_token: "secret-access-token" });
    const enc = encryptString(plain, key);
    expect(enc).not.toContain("secret-access-token");
    expect(decryptString(enc, key)).toBe(plain);
  });

  it("uses a fresh IV each time", () => {
    expect(encryptString("a", key)).not.toBe(encryptString("a", key));
  });

  it("rejects a tampered ciphertext and a different key", () => {
    const enc = encryptString("hello world", key);
    const parts = enc.split(".");
    const data = Buffer.from(parts[3]!, "base64url");
    data[0] = data[0]! ^ 1;
    const tampered = [parts[0], parts[1], parts[2], data.toString("base64url")].join(".");
    expect(() => decryptString(tampered, key)).toThrow();
    expect(() => decryptString(enc, deriveKey("y".repeat(32)))).toThrow();
  });

  it("refuses a secret shorter than 32 bytes", () => {
    expect(() => deriveKey("short")).toThrow(/32 bytes/);
  });
});
