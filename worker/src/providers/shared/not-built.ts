import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { errorBody } from "../../http/errors.js";
import type { TranslatedError } from "../types.js";

/** The error of a wire format whose adapter is still being written. */
export function notBuilt(format: string) {
  return (): TranslatedError => ({
    status: 501,
    body: errorBody("api_error", `the ${format} wire format is not built yet`, "unsupported_provider"),
    errorClass: ErrorClass.BAD_REQUEST,
  });
}
