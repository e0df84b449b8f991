import { writeObservabilityFiles } from "./generate.js";

/**
 * `npm run generate:observability`: writes the Prometheus rules and the
 * Grafana dashboard into helm/llm-gateway/files/ from the TypeScript sources.
 */
const changed = writeObservabilityFiles();
console.log(changed.length === 0 ? "observability files up to date" : `wrote ${changed.join(", ")}`);
