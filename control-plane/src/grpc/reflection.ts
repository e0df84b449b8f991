import {
  create,
  createFileRegistry,
  type DescFile,
  type DescService,
  type FileRegistry,
  type MessageInitShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../../proto/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../../proto/gen/grpc/reflection/v1alpha/reflection_pb.js";

type Answer = MessageInitShape<typeof v1.ServerReflectionResponseSchema>;
type MessageResponse = NonNullable<Answer["messageResponse"]>;

const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** The file and every file it imports, transitively: clients need them all to build descriptors. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, f);
    for (const dep of f.dependencies) visit(dep);
  };
  visit(file);
  return [...seen.values()];
}

/** A registry of the services' files and everything they import. */
export function registryOf(services: readonly DescService[]): FileRegistry {
  const files = new Map<string, DescFile>();
  // Keyed by the .proto path, the form imports use (DescFile.name drops the suffix).
  for (const s of services) for (const f of withDependencies(s.file)) files.set(f.proto.name, f);
  return createFileRegistry(
    ...[...files.values()].map((f) => createFileRegistry(f.proto, (name: string) => files.get(name))),
  );
}

const fileResponse = (file: DescFile | undefined, what: string): MessageResponse =>
  file
    ? {
        case: "fileDescriptorResponse",
        value: {
          fileDescriptorProto: withDependencies(file).map((f) =>
            toBinary(FileDescriptorProtoSchema, f.proto),
          ),
        },
      }
    : { case: "errorResponse", value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` } };

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), which connect-es
 * does not provide: grpcurl and `buf curl` list services and fetch their
 * descriptors from it. Bidi streaming needs HTTP/2, which the control plane's
 * h2c listener serves.
 */
export function registerReflection(router: ConnectRouter, services: readonly DescService[]): void {
  const all = [...services, v1.ServerReflection, v1alpha.ServerReflection];
  const registry = registryOf(all);
  const names = all.map((s) => s.typeName);

  /** The file declaring a message, enum, service, extension or method, by full name. */
  function fileOfSymbol(symbol: string): DescFile | undefined {
    const direct = registry.get(symbol);
    if (direct) return direct.file;
    const service = registry.getService(symbol.slice(0, symbol.lastIndexOf(".")));
    return service?.methods.some((m) => `${service.typeName}.${m.name}` === symbol)
      ? service.file
      : undefined;
  }

  function respond(req: v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest): MessageResponse {
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: names.map((name) => ({ name })) } };
      case "fileByFilename":
        // The registry keys files by their full .proto path (proto.name), as imports name them.
        return fileResponse(registry.getFile(r.value), `file ${r.value}`);
      case "fileContainingSymbol":
        return fileResponse(fileOfSymbol(r.value), `symbol ${r.value}`);
      case "fileContainingExtension": {
        const message = registry.getMessage(r.value.containingType);
        const ext = message ? registry.getExtensionFor(message, r.value.extensionNumber) : undefined;
        return fileResponse(ext?.file, `extension ${r.value.extensionNumber} of ${r.value.containingType}`);
      }
      case "allExtensionNumbersOfType": {
        const numbers: number[] = [];
        for (const d of registry)
          if (d.kind === "extension" && d.extendee.typeName === r.value) numbers.push(d.number);
        return {
          case: "allExtensionNumbersResponse",
          value: { baseTypeName: r.value, extensionNumber: numbers },
        };
      }
      default:
        return {
          case: "errorResponse",
          value: { errorCode: INVALID_ARGUMENT, errorMessage: "empty reflection request" },
        };
    }
  }

  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: respond(req),
        });
      }
    },
  });
  // v1alpha has the same fields under another package; many tools still ask for it.
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        const init = { validHost: req.host, originalRequest: req, messageResponse: respond(req) };
        yield create(
          v1alpha.ServerReflectionResponseSchema,
          init as MessageInitShape<typeof v1alpha.ServerReflectionResponseSchema>,
        );
      }
    },
  });
}
