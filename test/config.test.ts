import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

describe("loadConfig", () => {
  it("defaults to embedded mode on port 8000", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 8000, embedded: true, PUBLIC_URL: "http://localhost:8000", LOG_LEVEL: "info" });
  });

  it("treats empty values as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", REDIS_URL: " " }).embedded).toBe(true);
  });

  it("requires JWT_SECRET and ENCRYPTION_KEY with DATABASE_URL", () => {
    try {
      loadConfig({ DATABASE_URL: "postgres://u@h/db" });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).lines).toEqual([
        expect.stringMatching(/^JWT_SECRET: is required when DATABASE_URL is set/),
        expect.stringMatching(/^ENCRYPTION_KEY: is required when DATABASE_URL is set/),
      ]);
    }
  });

  it("lists every invalid variable", () => {
    expect(() => loadConfig({ PORT: "-1", LOG_LEVEL: "loud", GHE_PROTOCOL: "ftp", APP_ID: "abc" })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: "-1", LOG_LEVEL: "loud", GHE_PROTOCOL: "ftp", APP_ID: "abc" });
    } catch (error) {
      expect((error as ConfigError).lines.map((line) => line.split(":")[0]).sort()).toEqual(["APP_ID", "GHE_PROTOCOL", "LOG_LEVEL", "PORT"]);
    }
  });

  it("reads the delivery lease and the outbound retry schedule (seconds) from the environment", () => {
    expect(loadConfig({}).DELIVERY_LEASE_SECONDS).toBe(60);
    expect(loadConfig({}).OUTBOUND_RETRY_SCHEDULE).toBeUndefined();
    const config = loadConfig({ DELIVERY_LEASE_SECONDS: "5", OUTBOUND_RETRY_SCHEDULE: "1, 2.5,300" });
    expect(config.DELIVERY_LEASE_SECONDS).toBe(5);
    expect(config.OUTBOUND_RETRY_SCHEDULE).toEqual([1000, 2500, 300_000]);
    expect(() => loadConfig({ OUTBOUND_RETRY_SCHEDULE: "1,,2" })).toThrow(/OUTBOUND_RETRY_SCHEDULE/);
    expect(() => loadConfig({ DELIVERY_LEASE_SECONDS: "0" })).toThrow(/DELIVERY_LEASE_SECONDS/);
  });

  it("sizes the delivery worker from the environment, refusing sizes it cannot use", () => {
    expect(loadConfig({})).toMatchObject({ DELIVERY_WORKER_CONCURRENCY: 2, DELIVERY_WORKER_GROUP_SIZE: 50 });
    expect(loadConfig({ DELIVERY_WORKER_CONCURRENCY: "8", DELIVERY_WORKER_GROUP_SIZE: "1" })).toMatchObject({ DELIVERY_WORKER_CONCURRENCY: 8, DELIVERY_WORKER_GROUP_SIZE: 1 });
    expect(() => loadConfig({ DELIVERY_WORKER_CONCURRENCY: "0" })).toThrow(/DELIVERY_WORKER_CONCURRENCY/);
    expect(() => loadConfig({ DELIVERY_WORKER_GROUP_SIZE: "2.5" })).toThrow(/DELIVERY_WORKER_GROUP_SIZE/);
    expect(() => loadConfig({ DELIVERY_WORKER_GROUP_SIZE: "501" })).toThrow(/DELIVERY_WORKER_GROUP_SIZE/);
    expect(loadConfig({}).DELIVERY_WORKER_GATHER_MS).toBe(20);
    expect(loadConfig({ DELIVERY_WORKER_GATHER_MS: "0" }).DELIVERY_WORKER_GATHER_MS).toBe(0);
    expect(() => loadConfig({ DELIVERY_WORKER_GATHER_MS: "-1" })).toThrow(/DELIVERY_WORKER_GATHER_MS/);
    expect(() => loadConfig({ DELIVERY_WORKER_GATHER_MS: "1001" })).toThrow(/DELIVERY_WORKER_GATHER_MS/);
  });
});
