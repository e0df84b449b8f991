/** A statement's parameters: `add` appends one and returns its placeholder ($n). */
export interface Params {
  readonly values: unknown[];
  add(value: unknown): string;
}

export function createParams(): Params {
  const values: unknown[] = [];
  return {
    values,
    add(value) {
      values.push(value);
      return `$${values.length}`;
    },
  };
}
