import { describe, expect, it } from "vitest";
import { serverNodeOptions } from "./app-server";

describe("serverNodeOptions", () => {
  it("gives the server a 32 MB young generation, keeping the options it was given", () => {
    expect(serverNodeOptions(undefined)).toBe("--max-semi-space-size=32");
    expect(serverNodeOptions(" --inspect=127.0.0.1:9 ")).toBe("--inspect=127.0.0.1:9 --max-semi-space-size=32");
  });

  it("leaves a young generation size that was set alone", () => {
    expect(serverNodeOptions("--max-semi-space-size=64")).toBe("--max-semi-space-size=64");
  });
});
