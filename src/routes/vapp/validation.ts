// The V-app's own validation rules and messages (docs/vapp.md, "Validation"): fields checked in
// order, each reporting its first failure only, everything reported at once.
import { AppError, type FieldErrors } from "../../domain/errors.ts";
import { hasInvalidText } from "../../domain/text.ts";

interface Rule {
  field: string;
  min?: { length: number; message: string };
  max?: number;
}

const NAME: Rule = { field: "name", min: { length: 3, message: "must be longer than 2 characters" }, max: 64 };
const PASSWORD: Rule = { field: "password", min: { length: 8, message: "must be at least 8 characters" }, max: 256 };
const DISPLAY_NAME: Rule = { field: "display_name", min: { length: 3, message: "must be longer than 2 characters" }, max: 80 };

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

export const signupInput = (body: unknown) => {
  const v = check(body, [NAME, PASSWORD, DISPLAY_NAME]);
  return { username: v.name!, password: v.password!, displayName: v.display_name! };
};

/** Login and token only need the credentials to be present; anything else is bad credentials. */
export const credentialsInput = (body: unknown) => {
  const v = check(body, [{ field: "name" }, { field: "password" }]);
  return { username: v.name!, password: v.password! };
};
