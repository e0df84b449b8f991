/**
 * Compiles the Envoy v3 API protos shipped by `@grpc/grpc-js-xds` into a
 * FileDescriptorSet with `buf build` and loads it as a protobuf-es registry.
 *
 * Only the protos a config needs are compiled: the bootstrap, the xDS
 * discovery response (the SDS file format), the file of every `@type` the
 * configs name, and their transitive imports. The result is cached under
 * `.cache/envoy-descriptors/` (gitignored), keyed by a hash of every input
 * file, so a warm run reads one file and a fresh clone builds it in seconds.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createFileRegistry, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** Repository root (this file is test/envoy/descriptors.ts). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const XDS_DEPS = path.join(path.dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
/** Import roots, searched in order, as protoc `-I` paths would be. */
const PROTO_ROOTS = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) =>
  path.join(XDS_DEPS, d),
);
const BUF_BIN = require.resolve("@bufbuild/buf/bin/buf");
const CACHE_DIR = path.join(REPO_ROOT, ".cache", "envoy-descriptors");
/** Bumped when the way the set is built changes, so old cache entries are not reused. */
const BUILDER_VERSION = "1";

/** Files every config needs whatever its `@type`s. */
export const BASE_PROTO_FILES = [
  "envoy/config/bootstrap/v3/bootstrap.proto",
  "envoy/service/discovery/v3/discovery.proto",
];

/**
 * `ignore_empty` of each protoc-gen-validate rule message, as upstream
 * protoc-gen-validate v1.3 numbers it. The `validate/validate.proto` bundled
 * with grpc-js-xds predates it while the Envoy protos already use it.
 */
const IGNORE_EMPTY_FIELDS: Record<string, number> = {
  ...Object.fromEntries(
    ["Float", "Double", "Int32", "Int64", "UInt32", "UInt64", "SInt32", "SInt64"]
      .concat(["Fixed32", "Fixed64", "SFixed32", "SFixed64"])
      .map((t) => [`${t}Rules`, 8]),
  ),
  StringRules: 26,
  BytesRules: 14,
  RepeatedRules: 5,
  MapRules: 6,
};

/** The bundled validate.proto with the missing `ignore_empty` fields added. */
export function patchValidateProto(source: string): string {
  let out = source.replace(/\r\n/g, "\n"); // the bundled copy has CRLF line ends
  for (const [message, number] of Object.entries(IGNORE_EMPTY_FIELDS)) {
    const start = out.search(new RegExp(`^message ${message} \\{`, "m"));
    if (start < 0) throw new Error(`validate.proto: no message ${message}`);
    const end = out.indexOf("\n}", start);
    if (/\bignore_empty\b/.test(out.slice(start, end))) continue;
    out = `${out.slice(0, end)}\n    optional bool ignore_empty = ${number};${out.slice(end)}`;
  }
  return out;
}

/** Reads a proto by its import path from the first root holding it (validate.proto patched). */
function readProto(importPath: string): string | undefined {
  for (const root of PROTO_ROOTS) {
    const file = path.join(root, importPath);
    if (!fs.existsSync(file)) continue;
    const text = fs.readFileSync(file, "utf8");
    return importPath === "validate/validate.proto" ? patchValidateProto(text) : text;
  }
  return undefined;
}

/**
 * The proto file (import path) declaring a fully qualified top-level message,
 * e.g. `envoy.extensions.filters.http.router.v3.Router`, or undefined. Envoy
 * keeps one package per directory, so only that directory is searched.
 */
export function findTypeFile(typeName: string): string | undefined {
  const parts = typeName.split(".");
  for (let i = parts.length - 1; i > 0; i--) {
    const pkg = parts.slice(0, i).join(".");
    const dir = parts.slice(0, i).join("/");
    const declaration = new RegExp(`^(message|enum) ${parts[i]} \\{`, "m");
    for (const root of PROTO_ROOTS) {
      const full = path.join(root, dir);
      if (!fs.existsSync(full)) continue;
      for (const name of fs
        .readdirSync(full)
        .filter((n) => n.endsWith(".proto"))
        .sort()) {
        const text = fs.readFileSync(path.join(full, name), "utf8");
        if (text.includes(`\npackage ${pkg};`) && declaration.test(text)) return `${dir}/${name}`;
      }
    }
  }
  return undefined;
}

/** Import paths of `roots` and everything they import, with their (patched) contents. */
function importClosure(roots: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const queue = [...roots];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (files.has(next)) continue;
    const text = readProto(next);
    if (text === undefined) {
      // The well-known types are compiled into buf itself.
      if (next.startsWith("google/protobuf/")) continue;
      throw new Error(`proto import not found in @grpc/grpc-js-xds: ${next}`);
    }
    files.set(next, text);
    for (const m of text.matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm)) {
      if (m[1] !== undefined) queue.push(m[1]);
    }
  }
  return files;
}

/** Runs `buf build` over the files in a temp workspace; returns the FileDescriptorSet bytes. */
async function bufBuild(files: Map<string, string>): Promise<Uint8Array> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "envoy-protos-"));
  try {
    for (const [name, text] of files) {
      fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    fs.writeFileSync(path.join(dir, "buf.yaml"), "version: v2\n");
    const out = path.join(dir, "image.binpb");
    await run(process.execPath, [BUF_BIN, "build", dir, "-o", out], { maxBuffer: 16 << 20 });
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What a build produced and how. */
export interface EnvoyDescriptors {
  registry: FileRegistry;
  /** Proto files compiled (import paths, well-known types excluded). */
  files: string[];
  /** True when the descriptor set came from the cache. */
  cached: boolean;
}

/**
 * Builds (or reads from the cache) the descriptor set for the bootstrap, the
 * discovery response and the files declaring `typeNames`. Type names no proto
 * declares are left out, so decoding a config that uses them fails.
 */
export async function loadEnvoyDescriptors(typeNames: Iterable<string>): Promise<EnvoyDescriptors> {
  const roots = new Set(BASE_PROTO_FILES);
  for (const t of typeNames) {
    const file = findTypeFile(t);
    if (file) roots.add(file);
  }
  const files = importClosure([...roots].sort());
  const hash = createHash("sha256").update(`builder ${BUILDER_VERSION}\n`);
  const buf = JSON.parse(fs.readFileSync(require.resolve("@bufbuild/buf/package.json"), "utf8")) as {
    version: string;
  };
  hash.update(`buf ${buf.version}\n`);
  for (const name of [...files.keys()].sort()) hash.update(`${name}\n${files.get(name)}\n`);
  const cacheFile = path.join(CACHE_DIR, `${hash.digest("hex").slice(0, 32)}.binpb`);

  let bytes: Uint8Array;
  const cached = fs.existsSync(cacheFile);
  if (cached) {
    bytes = fs.readFileSync(cacheFile);
  } else {
    bytes = await bufBuild(files);
    writeCache(cacheFile, bytes);
  }
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
  return { registry, files: [...files.keys()].sort(), cached };
}

/** Stores a build atomically (parallel runs race harmlessly) and drops stale entries. */
function writeCache(file: string, bytes: Uint8Array): void {
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
    for (const name of fs.readdirSync(CACHE_DIR)) {
      if (name.endsWith(".binpb") && path.join(CACHE_DIR, name) !== file) {
        fs.rmSync(path.join(CACHE_DIR, name), { force: true });
      }
    }
  } catch {
    // A read-only checkout still validates; it just builds every time.
  }
}
