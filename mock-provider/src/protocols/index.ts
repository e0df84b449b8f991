import type { NativeProtocol } from "./types.js";

/** The native protocols the mock serves, by URL prefix. */
export const PROTOCOLS: readonly NativeProtocol[] = [];
