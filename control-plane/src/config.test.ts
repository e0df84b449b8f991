import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/src/env.js";
import { loadControlPlaneConfig } from "./config.js";

const BASE = { LLM_GATEWAY_WORKER_TOKEN: "t" };

describe("control-plane configuration: Redis fan-out", () => {
  it("runs without Redis by default, with the default channel and a generated replica id", () => {
    const a = loadControlPlaneConfig(BASE);
    const b = loadControlPlaneConfig(BASE);
    expect(a.redisUrl).toBeUndefined();
    expect(a.redisChannel).toBe("llm-gateway:config-changes");
    expect(a.replicaId).toMatch(/^.+-\d+-[0-9a-f]{6}$/);
    expect(a.replicaId).not.toBe(b.replicaId);
  });

  it("reads REDIS_URL, LLM_GATEWAY_REDIS_CHANNEL and LLM_GATEWAY_REPLICA_ID", () => {
    const c = loadControlPlaneConfig({
      ...BASE,
      REDIS_URL: "rediss://:pw@redis.internal:6380/1",
      LLM_GATEWAY_REDIS_CHANNEL: "gw-prod",
      LLM_GATEWAY_REPLICA_ID: "cp-1",
    });
    expect(c).toMatchObject({
      redisUrl: "rediss://:pw@redis.internal:6380/1",
      redisChannel: "gw-prod",
      replicaId: "cp-1",
    });
  });

  it("refuses a REDIS_URL that is not redis:// or rediss://, without repeating it", () => {
    for (const bad of ["http://:s3cret@redis:6379", "not a url :s3cret"]) {
      const err = (() => {
        try {
          loadControlPlaneConfig({ ...BASE, REDIS_URL: bad });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain("REDIS_URL");
      expect((err as Error).message).not.toContain("s3cret");
    }
  });
});
