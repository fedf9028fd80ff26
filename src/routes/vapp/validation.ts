// The V-app's own validation rules and messages (docs/vapp.md, "Validation"): fields checked in
// order, each reporting its first failure only, everything reported at once.
import { AppError, type FieldErrors } from "../../domain/errors.ts";
import { hasInvalidText } from "../../domain/text.ts";

interface Rule {
  field: string;
  min?: { length: number; message: string };
  max?: number | undefined;
}

type Lengths = { minLength?: number; maxLength?: number };

/**
 * The signup rules: lengths from the request's schema in openapi.yaml (the document a client reads),
 * order and messages the V-app's own. Its clients show the messages as they are: names say "longer
 * than" one less than the minimum, the password "at least" the minimum.
 */
export function signupRules(schema: { properties: Record<"name" | "password" | "display_name", Lengths> }): Rule[] {
  const rule = (field: keyof typeof schema.properties, message: (min: number) => string): Rule => {
    const { minLength, maxLength } = schema.properties[field];
    return { field, max: maxLength, ...(minLength ? { min: { length: minLength, message: message(minLength) } } : {}) };
  };
  const longerThan = (min: number) => `must be longer than ${min - 1} characters`;
  return [rule("name", longerThan), rule("password", (min) => `must be at least ${min} characters`), rule("display_name", longerThan)];
}

function check(body: unknown, rules: Rule[]): Record<string, string> {
  const input = body && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const errors: FieldErrors = {};
  const values: Record<string, string> = {};
  for (const rule of rules) {
    const v = input[rule.field];
    if (v === undefined || v === null || v === "") errors[rule.field] = "must exist";
    else if (typeof v !== "string") errors[rule.field] = "must be a string";
    // NUL or a lone surrogate: text the database cannot store (and a password would hash ambiguously).
    else if (hasInvalidText(v)) errors[rule.field] = "must be a valid string";
    else if (rule.min && [...v].length < rule.min.length) errors[rule.field] = rule.min.message;
    else if (rule.max && [...v].length > rule.max) errors[rule.field] = `must be at most ${rule.max} characters`;
    else values[rule.field] = v;
  }
  if (Object.keys(errors).length > 0) throw new AppError("validation_error", errors);
  return values;
}

export const signupInput = (body: unknown, rules: Rule[]) => {
  const v = check(body, rules);
  return { username: v.name!, password: v.password!, displayName: v.display_name! };
};

/** Login and token only need the credentials to be present; anything else is bad credentials. */
export const credentialsInput = (body: unknown) => {
  const v = check(body, [{ field: "name" }, { field: "password" }]);
  return { username: v.name!, password: v.password! };
};
