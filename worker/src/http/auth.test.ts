import { createHash } from "node:crypto";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ApiKeyEntrySchema,
  OrganizationEntrySchema,
  RoutingTableSchema,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { WatchRoutingTableResponseSchema } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { createRoutingTable } from "../table/routing-table.js";
import { authenticate, keyHash } from "./auth.js";
import { GatewayError } from "./errors.js";

const GOOD = "sk-gw-0123456789abcdef";
const OTHER = "sk-gw-other-org-key";
const DISABLED = "sk-gw-disabled-org-key";

const table = createRoutingTable();
table.apply(
  create(WatchRoutingTableResponseSchema, {
    version: 1n,
    payload: {
      case: "snapshot",
      value: create(RoutingTableSchema, {
        organizations: [
          create(OrganizationEntrySchema, { id: "org-a" }),
          create(OrganizationEntrySchema, { id: "org-b" }),
          create(OrganizationEntrySchema, { id: "org-off", disabled: true }),
        ],
        apiKeys: [
          { id: "k1", orgId: "org-a", userId: "u1", keyHash: createHash("sha256").update(GOOD).digest() },
          { id: "k2", orgId: "org-b", userId: "u2", keyHash: createHash("sha256").update(OTHER).digest() },
          { id: "k3", orgId: "org-off", keyHash: createHash("sha256").update(DISABLED).digest() },
        ].map((k) => create(ApiKeyEntrySchema, k)),
      }),
    },
  }),
);

const request = (headers: IncomingHttpHeaders) => ({ headers }) as IncomingMessage;

function failure(headers: IncomingHttpHeaders): GatewayError {
  try {
    authenticate(request(headers), table);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected authenticate to throw");
}

describe("authenticate", () => {
  it.each<[string, IncomingHttpHeaders, string]>([
    ["a bearer token", { authorization: `Bearer ${GOOD}` }, "k1"],
    ["a lowercase scheme", { authorization: `bearer ${GOOD}` }, "k1"],
    ["an uppercase scheme", { authorization: `BEARER ${GOOD}` }, "k1"],
    ["extra spaces around the token", { authorization: `Bearer   ${GOOD}  ` }, "k1"],
    ["x-api-key", { "x-api-key": GOOD }, "k1"],
    ["x-api-key with whitespace", { "x-api-key": ` ${GOOD}\t` }, "k1"],
    ["another org's key", { authorization: `Bearer ${OTHER}` }, "k2"],
    [
      "x-api-key next to a non-bearer authorization",
      { authorization: "Basic dXNlcjpwYXNz", "x-api-key": GOOD },
      "k1",
    ],
    ["bearer preferred over x-api-key", { authorization: `Bearer ${OTHER}`, "x-api-key": GOOD }, "k2"],
  ])("accepts %s", (_name, headers, keyId) => {
    expect(authenticate(request(headers), table).id).toBe(keyId);
  });

  it("returns the key's record", () => {
    expect(authenticate(request({ authorization: `Bearer ${GOOD}` }), table)).toMatchObject({
      id: "k1",
      orgId: "org-a",
      userId: "u1",
      expiresAt: Number.POSITIVE_INFINITY,
    });
  });

  it.each<[string, IncomingHttpHeaders]>([
    ["no headers", {}],
    ["an empty authorization", { authorization: "" }],
    ["a bare scheme", { authorization: "Bearer" }],
    ["a scheme and a space", { authorization: "Bearer " }],
    ["a scheme and only spaces", { authorization: "Bearer     " }],
    ["a non-bearer scheme", { authorization: `Basic ${GOOD}` }],
    ["a scheme without a space", { authorization: `Bearer${GOOD}` }],
    ["an empty x-api-key", { "x-api-key": "" }],
  ])("reports a missing key for %s", (_name, headers) => {
    const err = failure(headers);
    expect(err).toMatchObject({ code: "invalid_api_key", status: 401, type: "authentication_error" });
    expect(err.message).toMatch(/didn't provide an API key/);
  });

  it.each<[string, IncomingHttpHeaders]>([
    ["an unknown bearer token", { authorization: "Bearer sk-gw-unknown" }],
    ["an unknown x-api-key", { "x-api-key": "sk-gw-unknown" }],
    ["a key with different case", { authorization: `Bearer ${GOOD.toUpperCase()}` }],
    ["a truncated key", { authorization: `Bearer ${GOOD.slice(0, -1)}` }],
    ["a key of a disabled org", { authorization: `Bearer ${DISABLED}` }],
    [
      "a wrong bearer even with a right x-api-key",
      { authorization: "Bearer sk-gw-wrong", "x-api-key": GOOD },
    ],
  ])("rejects %s as incorrect", (_name, headers) => {
    const err = failure(headers);
    expect(err).toMatchObject({ code: "invalid_api_key", status: 401, type: "authentication_error" });
    expect(err.message).toBe("Incorrect API key provided.");
  });

  it("never echoes the presented key", () => {
    const secret = "sk-gw-this-should-never-be-echoed";
    const err = failure({ authorization: `Bearer ${secret}` });
    expect(JSON.stringify({ message: err.message, param: err.param })).not.toContain(secret);
  });
});

describe("authenticate on a real request", () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      try {
        const key = authenticate(req, table);
        res.writeHead(200).end(key.id);
      } catch (err) {
        const e = err as GatewayError;
        res.writeHead(e.status).end(e.code);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each<[string, Record<string, string>, number, string]>([
    ["bearer", { authorization: `Bearer ${GOOD}` }, 200, "k1"],
    ["x-api-key", { "X-Api-Key": OTHER }, 200, "k2"],
    ["no key", {}, 401, "invalid_api_key"],
    ["a wrong key", { authorization: "Bearer nope" }, 401, "invalid_api_key"],
  ])("%s", async (_name, headers, status, body) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { headers });
    expect([res.status, await res.text()]).toEqual([status, body]);
  });
});

describe("keyHash", () => {
  it("is the SHA-256 digest's bytes as a latin1 string, as the routing table indexes keys", () => {
    for (const key of ["lgw_abc", "lgw_é→ünïcode", "", "x".repeat(10_000)]) {
      expect(keyHash(key)).toBe(createHash("sha256").update(key).digest().toString("latin1"));
    }
  });
});
