import { generateKeyPairSync, randomBytes } from "node:crypto";

/** A Google service account made up for tests: its key pair and its JSON key file. */
export interface TestServiceAccount {
  clientEmail: string;
  privateKeyId: string;
  /** PKCS#8 PEM, as Google's key files hold it. */
  privateKeyPem: string;
  /** SPKI PEM: what the mock provider verifies assertions with (`serviceAccounts` option). */
  publicKeyPem: string;
  /** The service-account JSON key file (a credential's secret) whose token_uri is `tokenUri`. */
  json(tokenUri: string): string;
}

/**
 * Generates an RSA-2048 key pair and a service account around it. The email
 * is unique per call (`name` plus random hex) so several accounts can share
 * one mock.
 */
export function testServiceAccount(name = "gateway-test", project = "mock-project"): TestServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const clientEmail = `${name}-${randomBytes(3).toString("hex")}@${project}.iam.gserviceaccount.com`;
  const privateKeyId = randomBytes(20).toString("hex");
  return {
    clientEmail,
    privateKeyId,
    privateKeyPem: privateKey,
    publicKeyPem: publicKey,
    json: (tokenUri) =>
      JSON.stringify({
        type: "service_account",
        project_id: project,
        private_key_id: privateKeyId,
        private_key: privateKey,
        client_email: clientEmail,
        client_id: "100000000000000000001",
        auth_uri: "https://accounts.google.com/o/oauth2/auth",
        token_uri: tokenUri,
      }),
  };
}
