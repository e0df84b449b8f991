import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { RouteService } from "../../../proto/gen/llmgateway/v1/route_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../../../test/helpers/control-plane.js";

/** Which error classes a fallback step may name as its triggers. */
describe("fallback triggers", () => {
  let t: TestControlPlane;
  let orgId = "";
  let credentialId = "";

  const put = (triggers: ErrorClass[]) =>
    t.client(RouteService).putRoute(
      {
        orgId,
        model: "m",
        targets: [{ credentialId }],
        fallbacks: [{ targets: [{ credentialId }], triggers }],
        reason: "t",
      },
      t.as(t.adminKey),
    );

  beforeAll(async () => {
    t = await startTestControlPlane();
    const admin = t.as(t.adminKey);
    orgId =
      (
        await t
          .client(OrganizationService)
          .createOrganization({ slug: `fb-${randomBytes(3).toString("hex")}`, reason: "t" }, admin)
      ).organization?.id ?? "";
    credentialId =
      (
        await t
          .client(CredentialService)
          .createCredential(
            { orgId, provider: "openai", name: "c", secret: "sk-test-123456789", reason: "t" },
            admin,
          )
      ).credential?.id ?? "";
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("refuses ERROR_CLASS_BAD_REQUEST: the provider would answer every step the same way", async () => {
    const err = await put([ErrorClass.UNAVAILABLE, ErrorClass.BAD_REQUEST]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toContain("bad requests are never a fallback trigger");
  });

  it("refuses values that are not error classes", async () => {
    const err = await put([42 as ErrorClass]).catch((e: unknown) => e);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("accepts ERROR_CLASS_MALFORMED_RESPONSE", async () => {
    const res = await put([ErrorClass.MALFORMED_RESPONSE, ErrorClass.UNAVAILABLE]);
    expect(res.route?.fallbacks[0]?.triggers).toEqual([
      ErrorClass.MALFORMED_RESPONSE,
      ErrorClass.UNAVAILABLE,
    ]);
    const { rows } = await t.cp.db.query<{ fallbacks: unknown }>(
      "SELECT fallbacks FROM routes WHERE org_id = $1",
      [orgId],
    );
    expect(rows[0]?.fallbacks).toEqual([
      {
        targets: [{ credentialId, upstreamModel: "", weight: 1 }],
        triggers: ["malformed_response", "unavailable"],
      },
    ]);
  });
});
