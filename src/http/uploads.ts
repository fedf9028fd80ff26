// Uploads shared by both surfaces: one image file part of a multipart body, read within explicit
// limits, every other part drained (never left unconsumed).
import type { FastifyRequest } from "fastify";
import { AppError, isAppError } from "../domain/errors.ts";
import { toAppError } from "./errors.ts";

/**
 * Reads the one file part named `field` (default `image`) of a multipart body: the body must hold
 * exactly one file part, and it must be named `field`. Text fields are ignored.
 *
 * - no file part named `field` (none at all, only other names, or `field` as a text field):
 *   validation error "must exist";
 * - any second file part, whatever its name: validation error "must be a single file", decided at
 *   that part's header, so its size never matters (it is never measured against the image limit);
 * - the image part over `maxBytes`: payload_too_large blaming `field`; more than 20 parts or 16
 *   text fields: payload_too_large without a field (the image is not the cause);
 * - a body that is not multipart, or a malformed one: validation error.
 */
export async function readImagePart(req: FastifyRequest, maxBytes: number, field = "image"): Promise<Buffer> {
  if (!req.isMultipart()) throw new AppError("validation_error", { [field]: "must exist" });
  let image: Buffer | undefined;
  try {
    // `files: 1`: a second file part stops the parse with FST_FILES_LIMIT. The file size is checked
    // here for the image only (a lone file part with another name is drained, truncated, unread).
    // (throwFileSizeLimit per call is read by @fastify/multipart but missing from its parts() type.)
    const options = { limits: { fileSize: maxBytes, files: 1, fields: 16, parts: 20 }, throwFileSizeLimit: false } as Parameters<FastifyRequest["parts"]>[0];
    for await (const part of req.parts(options)) {
      if (part.type !== "file") continue;
      if (part.fieldname !== field) {
        part.file.resume();
        continue;
      }
      image = await part.toBuffer();
      if (part.file.truncated) throw new AppError("payload_too_large", { [field]: `must be at most ${maxBytes} bytes` });
    }
  } catch (err) {
    if (isAppError(err)) throw err;
    if ((err as { code?: string })?.code === "FST_FILES_LIMIT") throw new AppError("validation_error", { [field]: "must be a single file" });
    // Too many parts or text fields: the body is too large, but not because of the image.
    if (toAppError(err).code === "payload_too_large") throw new AppError("payload_too_large");
    throw new AppError("validation_error", { [field]: "must be a file in a well-formed multipart/form-data body" });
  }
  if (!image || image.length === 0) throw new AppError("validation_error", { [field]: "must exist" });
  return image;
}
