import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../../proto/gen/llmgateway/v1/common_pb.js";

const TO_DB: ReadonlyMap<Role, string> = new Map([
  [Role.OWNER, "owner"],
  [Role.ADMIN, "admin"],
  [Role.OPERATOR, "operator"],
  [Role.ANALYST, "analyst"],
  [Role.MEMBER, "member"],
]);
const FROM_DB: ReadonlyMap<string, Role> = new Map([...TO_DB].map(([k, v]) => [v, k]));

/** Role as stored in the database; rejects ROLE_UNSPECIFIED. */
export function roleToDb(role: Role): string {
  const value = TO_DB.get(role);
  if (!value) throw new ConnectError("role is required", Code.InvalidArgument);
  return value;
}

export function roleFromDb(value: string): Role {
  return FROM_DB.get(value) ?? Role.UNSPECIFIED;
}
