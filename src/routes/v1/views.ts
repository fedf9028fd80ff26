// How accounts look on the v1 surface: ids as ULIDs, ISO 8601 UTC times.
import type { User } from "../../domain/accounts.ts";
import { toUlid } from "../../domain/ids.ts";
import type { MediaService } from "../../domain/media.ts";

export const userView = (u: User) => ({
  id: toUlid(u.id),
  email: u.email,
  display_name: u.displayName,
  role: u.role,
  email_verified: u.emailVerifiedAt !== null,
  created_at: u.createdAt.toISOString(),
});

export const profileView = (media: MediaService) => (u: User) => ({
  id: toUlid(u.id),
  email: u.email,
  username: u.username,
  display_name: u.displayName,
  bio: u.bio,
  avatar_url: media.urlOrNull(u.imageKey),
  role: u.role,
  email_verified: u.emailVerifiedAt !== null,
  created_at: u.createdAt.toISOString(),
});
