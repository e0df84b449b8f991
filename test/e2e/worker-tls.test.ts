import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/src/paths.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";
import { spawnGateway } from "../helpers/processes.js";

/**
 * A worker terminating TLS itself (LLM_GATEWAY_TLS_CERT_FILE / _KEY_FILE), for
 * deployments without Envoy: certificates from scripts/dev-cert.sh (openssl),
 * the official OpenAI SDK trusting only that development CA.
 */
const EXPECTED = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const dir = mkdtempSync(join(tmpdir(), "llmgw-tls-"));
const served = { cert: join(dir, "served.crt"), key: join(dir, "served.key") };
/** A fixed mtime (whole seconds) the served files are pinned to, so stat() can be left unchanged. */
const PINNED = 1_700_000_000;
let gw: TestGateway;

/** Runs scripts/dev-cert.sh into `out`; returns the CA and the server pair. */
function devCert(out: string): { ca: string; cert: string; key: string } {
  execFileSync("bash", [join(projectRoot(), "scripts", "dev-cert.sh"), out], { stdio: "pipe" });
  const read = (f: string) => readFileSync(join(out, f), "utf8");
  return { ca: read("ca.crt"), cert: read("tls.crt"), key: read("tls.key") };
}

/** An OpenAI client whose only trusted root is `ca` (no system roots, no NODE_EXTRA_CA_CERTS). */
function clientTrusting(ca: string): { openai: OpenAI; close(): Promise<void> } {
  const agent = new Agent({ connect: { ca } });
  const openai = new OpenAI({
    baseURL: `${gw.worker.url}/v1`,
    apiKey: gw.apiKey,
    maxRetries: 0,
    // The SDK calls fetch(url, init); undici's own fetch takes undici's Agent as dispatcher.
    fetch: ((url: string, init: Parameters<typeof undiciFetch>[1]) =>
      undiciFetch(url, { ...init, dispatcher: agent })) as unknown as typeof fetch,
  });
  return { openai, close: () => agent.close() };
}

const chat = (openai: OpenAI) =>
  openai.chat.completions.create({ model: "tls-model", messages: [{ role: "user", content: "hi" }] });

/** Installs a pair as the served files; `pin` keeps their stat() as before (same inode, size, mtime). */
function serve(pair: { cert: string; key: string }, pin: boolean): void {
  for (const [file, pem] of [
    [served.cert, pair.cert],
    [served.key, pair.key],
  ] as const) {
    let text = pem;
    if (pin) {
      // Pad to the old size (PEM readers ignore what follows the END line) so the stat does not move.
      const size = statSync(file).size;
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(size);
      text = text.padEnd(size, "\n");
    }
    writeFileSync(file, text); // in place: same inode
    if (pin) utimesSync(file, PINNED, PINNED);
  }
}

/** Polls until `probe` resolves true. */
async function eventually(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when a client trusting only `ca` completes a request. */
async function trusted(ca: string): Promise<boolean> {
  const client = clientTrusting(ca);
  try {
    await client.openai.models.list();
    return true;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

let first: ReturnType<typeof devCert>;

beforeAll(async () => {
  first = devCert(join(dir, "first"));
  // Room after the END line (ignored by PEM readers) so a later pair can keep the same size.
  writeFileSync(served.cert, first.cert.padEnd(2048, "\n"));
  writeFileSync(served.key, first.key.padEnd(2048, "\n"));
  for (const f of [served.cert, served.key]) utimesSync(f, PINNED, PINNED);
  gw = await startTestGateway({
    secrets: 2,
    workerEnv: { LLM_GATEWAY_TLS_CERT_FILE: served.cert, LLM_GATEWAY_TLS_KEY_FILE: served.key },
  });
  const cred = await gw.credential();
  await gw.route("tls-model", [{ credentialId: cred.id }]);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("worker TLS", () => {
  it("serves the OpenAI API over HTTPS: chat and a stream with the official SDK", async () => {
    expect(gw.worker.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = clientTrusting(first.ca);
    try {
      const done = await chat(client.openai);
      expect(done.choices[0]?.message.content).toBe(EXPECTED);
      const stream = await client.openai.chat.completions.create({
        model: "tls-model",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe(EXPECTED);
    } finally {
      await client.close();
    }
  });

  it("refuses plain HTTP on the TLS port", async () => {
    const plain = gw.worker.url.replace("https://", "http://");
    // The port is open (not ECONNREFUSED): the TLS server drops the connection on a plaintext request.
    const err: unknown = await fetch(`${plain}/healthz`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as { cause?: { code?: string } } | undefined)?.cause?.code).toMatch(
      /^(UND_ERR_SOCKET|ECONNRESET)$/,
    );
  });

  it("is not trusted without the development CA (the certificate is really checked)", async () => {
    const other = devCert(join(dir, "unrelated"));
    expect(await trusted(other.ca)).toBe(false);
    expect(await trusted(first.ca)).toBe(true);
  });

  it("reloads the pair on SIGHUP, with the files' stat unchanged (no file-change reload involved)", async () => {
    const second = devCert(join(dir, "second"));
    serve(second, true);
    expect(statSync(served.cert).mtimeMs).toBe(PINNED * 1000);
    // Between the write and the signal the old pair is still served (no watcher saw a change).
    await new Promise((r) => setTimeout(r, 2500));
    expect(await trusted(first.ca)).toBe(true);
    process.kill(process.pid, "SIGHUP");
    await eventually(() => trusted(second.ca), 1000);
    expect(await trusted(first.ca)).toBe(false);
  });

  it("reloads the pair when the files change, without a signal", async () => {
    const third = devCert(join(dir, "third"));
    serve(third, false);
    await eventually(() => trusted(third.ca), 8000);
  });

  it("keeps the previous pair when a reload finds a key that does not match", async () => {
    const fourth = devCert(join(dir, "fourth"));
    const fifth = devCert(join(dir, "fifth"));
    serve({ cert: fourth.cert, key: fifth.key }, false);
    process.kill(process.pid, "SIGHUP");
    await new Promise((r) => setTimeout(r, 300));
    expect(await trusted(fourth.ca)).toBe(false);
    const third = readFileSync(join(dir, "third", "ca.crt"), "utf8");
    expect(await trusted(third)).toBe(true);
  });
});

describe("`llm-gateway start` with the TLS variables", () => {
  it("serves its worker over HTTPS, demo route included", async () => {
    const dataDir = join(dir, "start-data");
    const gateway = spawnGateway(["start"], {
      LLM_GATEWAY_DATA_DIR: dataDir,
      LLM_GATEWAY_WORKER_PORT: "0",
      LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
      LLM_GATEWAY_DEMO_MOCK_PORT: "0",
      LLM_GATEWAY_TLS_CERT_FILE: join(dir, "first", "tls.crt"),
      LLM_GATEWAY_TLS_KEY_FILE: join(dir, "first", "tls.key"),
    });
    try {
      const ready = await gateway.waitFor((l) => l.raw.includes("OpenAI-compatible API:"), 60_000);
      const base = ready.raw.split("API:")[1]?.trim() ?? "";
      expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
      const key = gateway.lines.map((l) => l.raw.trim()).find((l) => /^lgw_[\w-]{43}$/.test(l)) ?? "";
      const agent = new Agent({ connect: { ca: first.ca } });
      try {
        const openai = new OpenAI({
          baseURL: base,
          apiKey: key,
          maxRetries: 0,
          fetch: ((url: string, init: Parameters<typeof undiciFetch>[1]) =>
            undiciFetch(url, { ...init, dispatcher: agent })) as unknown as typeof fetch,
        });
        const done = await openai.chat.completions.create({
          model: "demo-model",
          messages: [{ role: "user", content: "hi" }],
        });
        expect(done.choices[0]?.message.content).toMatch(/^tok0/);
      } finally {
        await agent.close();
      }
    } finally {
      await gateway.stop();
    }
  }, 90_000);
});

describe("worker TLS configuration errors", () => {
  const base = { LLM_GATEWAY_WORKER_TOKEN: "t", LLM_GATEWAY_WORKER_PORT: "0" };

  it.each([
    [
      "a missing certificate file",
      { LLM_GATEWAY_TLS_CERT_FILE: join(dir, "nope.crt"), LLM_GATEWAY_TLS_KEY_FILE: served.key },
      /^configuration error: LLM_GATEWAY_TLS_CERT_FILE: cannot read ".*nope\.crt" \(ENOENT\)$/,
    ],
    [
      "a key file that is not a key",
      { LLM_GATEWAY_TLS_CERT_FILE: served.cert, LLM_GATEWAY_TLS_KEY_FILE: served.cert },
      /^configuration error: LLM_GATEWAY_TLS_KEY_FILE: ".*served\.crt" is not a PEM key/,
    ],
    [
      "a key without a certificate",
      { LLM_GATEWAY_TLS_KEY_FILE: served.key },
      /^configuration error: LLM_GATEWAY_TLS_CERT_FILE is required when LLM_GATEWAY_TLS_KEY_FILE is set$/,
    ],
  ])("`llm-gateway worker` refuses to start with %s (exit code 2)", async (_, env, message) => {
    const proc = spawnGateway(["worker"], { ...base, ...env });
    await once(proc.proc, "close"); // after exit and the end of its output
    expect(proc.proc.exitCode).toBe(2);
    expect(proc.lines.find((l) => l.raw.startsWith("configuration error:"))?.raw).toMatch(message);
  });
});
