// Uploads shared by both surfaces: one image file part of a multipart body, read within explicit
// limits, every other part drained (never left unconsumed).
import type { FastifyRequest } from "fastify";
import { AppError, isAppError } from "../domain/errors.ts";
import { toAppError } from "./errors.ts";

/**
 * Reads the one file part named `field` (default `image`) of a multipart body. Other parts are drained and ignored;
 * a second such file, a missing one or a body that is not multipart is a validation error.
 */
export async function readImagePart(req: FastifyRequest, maxBytes: number, field = "image"): Promise<Buffer> {
  if (!req.isMultipart()) throw new AppError("validation_error", { [field]: "must exist" });
  let image: Buffer | undefined;
  let duplicate = false;
  try {
    for await (const part of req.parts({ limits: { fileSize: maxBytes, files: 4, fields: 16, parts: 20 } })) {
      if (part.type !== "file") continue;
      if (part.fieldname !== field || image) {
        duplicate ||= part.fieldname === field;
        part.file.resume();
        continue;
      }
      image = await part.toBuffer();
    }
  } catch (err) {
    const e = toAppError(err);
    if (e.code === "payload_too_large") throw new AppError("payload_too_large", { [field]: `must be at most ${maxBytes} bytes` });
    if (isAppError(err)) throw err;
    throw new AppError("validation_error", { [field]: "must be a file in a well-formed multipart/form-data body" });
  }
  if (duplicate) throw new AppError("validation_error", { [field]: "must be a single file" });
  if (!image || image.length === 0) throw new AppError("validation_error", { [field]: "must exist" });
  return image;
}
