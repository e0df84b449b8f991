import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

export interface TestIdentityProvider {
  issuer: string;
  /** A signed session token for `sub` with the given claims (RS256, 10 minutes unless overridden). */
  token(
    sub: string,
    claims?: JWTPayload,
    options?: { audience?: string; expiresIn?: string; foreignKey?: boolean },
  ): Promise<string>;
  close(): Promise<void>;
}

/**
 * A minimal OpenID provider on loopback for tests: discovery document and a
 * JWKS with one RSA key. Tokens are signed with real keys; a second, foreign
 * key signs tokens the gateway must refuse.
 */
export async function startTestIdentityProvider(audience: string): Promise<TestIdentityProvider> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const foreign = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
  let issuer = "";
  const server: Server = createServer((req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    } else if (req.url === "/jwks") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    token: (sub, claims = {}, options = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: "test-key" })
        .setSubject(sub)
        .setIssuer(issuer)
        .setAudience(options.audience ?? audience)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? "10m")
        .sign(options.foreignKey ? foreign.privateKey : privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
