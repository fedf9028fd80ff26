// Generated from openapi.yaml by scripts/generate-types.ts (npm run generate). Do not edit.

export interface paths {
    "/signup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account and start a session
         * @description Fields are checked in the order `name`, `password`, `display_name`; each reports its first
         *     failure only. A body with another content type, or JSON that does not parse, counts as
         *     empty. Unknown fields are ignored. A failed signup creates nothing.
         */
        post: operations["vappSignup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Start a session */
        post: operations["vappLogin"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Get a new token (the previous one lasts 1 hour) */
        post: operations["vappToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every other user (the caller excluded), oldest first */
        get: operations["vappListUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/users/image": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Set the caller's picture
         * @description One file part named `image`: PNG, JPEG, GIF or WebP, recognised by its content, at most
         *     5 MiB (MAX_IMAGE_BYTES). The image is decoded and re-encoded in its own format, never stored
         *     as sent: orientation applied, metadata dropped (EXIF with GPS, XMP, comments; colour
         *     converted to sRGB), animated GIF and WebP keep their frames, an animated PNG keeps only its
         *     still default image. Bytes that do not decode to the end (truncated, corrupt) and images of
         *     more than 40 megapixels (all frames together) are refused with 403 `data:validation`.
         *     The picture becomes the caller's `image_url` (and v1 `avatar_url`);
         *     the previous one is removed. Nothing is stored when the upload fails.
         */
        post: operations["vappSetUserImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/image": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Upload an image (for image messages)
         * @description Same rules as `/users/image`; the image is stored but not attached to the account.
         */
        post: operations["vappUploadImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness (no I/O) */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness (database and, when configured, Redis reachable) */
        get: operations["getReady"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/_/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Health check in the V-app hosting's form */
        get: operations["getVappHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Public keys that verify every token this service signs
         * @description The current RS256 key and every retired key whose tokens may still be valid.
         */
        get: operations["getJwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document, as JSON */
        get: operations["getOpenApiDocument"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Human-readable documentation (Swagger UI) */
        get: operations["getDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/media/{key}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A stored image, public */
        get: operations["getMedia"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an account and start a session
         * @description The e-mail is trimmed, then checked (valid address, at most 254 characters) and must be
         *     unique case-insensitively. Without `display_name` the part of the e-mail before `@` is used.
         *     The account starts with role `user`; a verification mail (valid 48 hours) goes out.
         */
        post: operations["registerUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start a session with e-mail and password
         * @description The e-mail is trimmed and compared case-insensitively. An unknown e-mail and a wrong
         *     password give the same answer after the same amount of password-hashing work.
         */
        post: operations["loginUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Exchange a refresh token for a new access token and a new refresh token
         * @description Refresh tokens are rotated on every use: the token presented stops working and the answer
         *     carries its successor (valid 30 days from now). Presenting a token that was already
         *     rotated is treated as theft: the whole family (every token descending from the same
         *     sign-in) is revoked and the answer is `401`. The new access token carries the account's
         *     current role.
         */
        post: operations["refreshSession"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * End a session (revokes the refresh token's whole family)
         * @description Idempotent: an unknown, expired or already revoked token also answers `204`. Access tokens
         *     already issued stay valid until they expire (at most 15 minutes).
         */
        post: operations["logoutSession"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/guest": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Get a guest token (for calling a host without an account)
         * @description The body is optional; without `display_name` the guest's name is `null`.
         */
        post: operations["createGuest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/verify-email": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Confirm the e-mail address with the token from the verification mail
         * @description Tokens are single-use and valid 48 hours. An account with role `user` becomes
         *     `verified_user`; higher roles are kept.
         */
        post: operations["verifyEmail"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/verify-email/resend": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send the verification mail again
         * @description A new token (48 hours) goes out; tokens sent before stop working. No request body.
         */
        post: operations["resendVerificationEmail"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/password/reset": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mail a password-reset token
         * @description Always `202`, whether or not an account has this e-mail (no account enumeration); when one
         *     does, a single-use token valid 1 hour is mailed and earlier reset tokens stop working.
         */
        post: operations["requestPasswordReset"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/auth/password/reset/confirm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Set a new password with the token from the reset mail
         * @description Every refresh token of the account is revoked (every session must sign in again).
         */
        post: operations["confirmPasswordReset"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/users/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's profile */
        get: operations["getMyProfile"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        /**
         * Change the caller's display name, username or bio
         * @description Only the fields sent change. `username` is the V-app `name` (unique, case-sensitive);
         *     `bio: null` clears the bio.
         */
        patch: operations["updateMyProfile"];
        trace?: never;
    };
    "/v1/users/me/avatar": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Set the caller's picture
         * @description One file part named `avatar`: PNG, JPEG, GIF or WebP, recognised by its content, at most
         *     5 MiB (MAX_IMAGE_BYTES); undecodable images and those over 40 megapixels are refused as on
         *     `/users/image`. It is re-encoded to a 512×512 WebP (centre-cropped, orientation
         *     applied, every metadata block dropped) and becomes both `avatar_url` and the V-app
         *     `image_url`; the previous picture is removed. Nothing is stored when the upload fails.
         */
        put: operations["setMyAvatar"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every account, newest first (admin only) */
        get: operations["listUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/users/{id}/role": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Change an account's role (admin only)
         * @description `host` and `admin` need a verified e-mail (`409` otherwise). An admin cannot change their
         *     own role (`409`), so the last admin cannot lock everyone out. The new role takes effect
         *     at once (every request reads the account's current role); the `role` claim of the
         *     account's access tokens shows it from the next login or refresh.
         */
        post: operations["setUserRole"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/links": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The caller's call links, newest first (hosts) */
        get: operations["listLinks"];
        put?: never;
        /**
         * Create a call link (hosts)
         * @description `rate_per_minute` is a two-decimal USD string between 0.50 and 999.99; `window_size_minutes`
         *     1–60 (each window is held on the guest's card before it starts and captured when it ends).
         *     `scheduled_end` must be after `scheduled_start`. The `short_code` is 10 random base62
         *     characters; `url` is `$PUBLIC_URL/c/<short_code>`. Callers below role `host` get 403.
         */
        post: operations["createLink"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/links/resolve/{short_code}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * What a guest sees when opening a link (public)
         * @description The host, the terms, and whether the link can be called now; when it cannot,
         *     `unavailable_reason` says why (`inactive`, `expired`, `uses_exhausted`, `outside_schedule`).
         */
        get: operations["resolveLink"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/links/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        /** One of the caller's links */
        get: operations["getLink"];
        put?: never;
        post?: never;
        /**
         * Deactivate a link (its calls and history stay)
         * @description Idempotent. Calls still waiting for the host on this link are cancelled (`link_unavailable`) and their holds released.
         */
        delete: operations["deleteLink"];
        options?: never;
        head?: never;
        /**
         * Change a link's terms (calls already made keep theirs)
         * @description Any subset of the fields; `null` clears an optional one. `is_active` re-activates or deactivates.
         */
        patch: operations["updateLink"];
        trace?: never;
    };
    "/v1/calls/initiate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start a call on a link (guest token or access token)
         * @description Checks the link, places the hold for window 1 (rate × window) on `payment_method_id`,
         *     counts one use of the link and answers the guest's signaling token (5 minutes, single use)
         *     and TURN credentials. The call is `waiting` until both participants are connected to
         *     `/ws`; a host who does not come within 5 minutes cancels it (`host_no_show`) and the hold
         *     is released. A declined card is `402 payment_declined` (`details.decline_code`): no
         *     waiting call, no use counted. A host cannot call their own link (403). If the call is
         *     ended while its first hold is being placed (the guest ends it, the host declines it, the
         *     link is deactivated), that hold is released and the answer says what happened instead of
         *     `201`: `410 link_unavailable` for a deactivated link, `409 call_not_active` otherwise.
         *
         *     `X-Idempotency-Key` (a UUID, per caller, kept 24 h): the same key with the same body
         *     replays the first response (status included) and places no second hold; the
         *     same key with another body is `409 idempotency_key_reused`; a duplicate sent while the first
         *     is running waits for it (or gets `409 conflict` after 5 s). No usable secret is stored: a
         *     replayed 201 carries a newly issued `signaling_token` and fresh `turn_credentials`, the rest
         *     of the body byte for byte as first answered. Once the call has ended a replay has no session
         *     to give: `409 call_not_active` with `details.status` (the call's status now) and
         *     `details.call_id`.
         */
        post: operations["initiateCall"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/calls": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's calls, newest first
         * @description `role=host`: calls on the caller's links; `role=guest`: calls the caller made; absent: both.
         */
        get: operations["listCalls"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/calls/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        /** A call the caller takes part in */
        get: operations["getCall"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/calls/{id}/join": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The host takes the call
         * @description Answers the host's signaling token and TURN credentials; the call turns `active` when both are connected to `/ws`. `409 call_not_active` once the call has ended.
         */
        post: operations["joinCall"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/calls/{id}/signaling-token": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A fresh signaling token for a participant (reconnects)
         * @description Single use, 5 minutes. `409 call_not_active` once the call has ended.
         */
        post: operations["createSignalingToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/calls/{id}/end": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * End the call (either participant)
         * @description An active call is captured for the minutes used in the open window (rounded up) and every
         *     other hold is released; a call that never became active is `cancelled` and its hold
         *     released. Ending an ended call is not an error: it answers the call as it is.
         *     `X-Idempotency-Key` is honoured as for initiate.
         *
         *     The answer is the call's final state and amount (`200`). If the settlement cannot finish
         *     within a few seconds (another worker is busy with this call), the answer is `202` with the
         *     call as it is now (`ending`): the end is recorded and will be settled; poll
         *     `GET /v1/calls/{id}` for the final state. A `202` is never replayed for an idempotency key:
         *     retrying the end with the same key asks again.
         */
        post: operations["endCall"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/history": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Charges (as a guest) and earnings (as a host), newest first
         * @description One entry per captured billing window. Charges show the amount paid; earnings show the
         *     gross amount, the platform fee (7 %, rounded half up to the cent) and the host's net.
         */
        get: operations["getPaymentHistory"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/ws": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * WebRTC signaling for one call (WebSocket)
         * @description Upgrade with `?token=st_…` (from initiate, join or signaling-token). The token is checked
         *     before the upgrade and consumed: a missing, malformed, expired, already used or foreign
         *     token (`call_id`, when given, must be the token's call), or a call that has ended, is
         *     `401 unauthorized` and nothing is upgraded. A request that is not a WebSocket upgrade is
         *     `400`. The message protocol (JSON text frames, limits, close codes) is in
         *     `docs/signaling.md` in the repository (see externalDocs).
         */
        get: operations["connectSignaling"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description The v1 error envelope. */
        Error: {
            error: {
                /** @enum {string} */
                code: "validation_error" | "unauthorized" | "invalid_credentials" | "payment_declined" | "stripe_error" | "forbidden" | "not_found" | "link_not_found" | "method_not_allowed" | "conflict" | "call_not_active" | "idempotency_key_reused" | "link_unavailable" | "payload_too_large" | "unsupported_media_type" | "rate_limited" | "internal_error" | "service_unavailable";
                /** @description In the language chosen from Accept-Language. */
                message: string;
                /**
                 * @description `null`, or an object of strings: for `validation_error` each offending field (dotted
                 *     path) mapped to a message; for `conflict` the field concerned; otherwise as the
                 *     code documents (e.g. `reason`, `decline_code`).
                 */
                details: {
                    [key: string]: string;
                } | null;
            };
        };
        /** @description The V-app error shape. */
        VappError: {
            /** @enum {string} */
            type: "data:validation" | "data:notfound" | "auth:unauthorized" | "auth:missingtoken" | "auth:badtoken" | "auth:missinguserid" | "rate:limited" | "request:methodnotallowed" | "server:error" | "server:unavailable";
            title: string;
            detail: string;
            invalid_parameters?: {
                name: string;
                reason: string;
            }[];
        };
        VappUser: {
            id: string;
            /** @description The account's username. */
            name: string;
            display_name: string;
            /**
             * Format: uri
             * @description Absolute URL of the user's picture, or null.
             */
            image_url: string | null;
        };
        /** @description RS256 JWT, 1 hour. */
        VappToken: string;
        VappSession: {
            user: components["schemas"]["VappUser"];
            token: components["schemas"]["VappToken"];
            /** @description Every other user with a name, oldest first. */
            users: components["schemas"]["VappUser"][];
        };
        /** @description Checked by the V-app's own rules (see the operation); unknown fields are ignored. */
        VappSignupRequest: {
            name?: string;
            password?: string;
            display_name?: string;
        };
        VappCredentials: {
            name?: string;
            password?: string;
        };
        VappImageUpload: {
            /** @description PNG, JPEG, GIF or WebP, at most 5 MiB. */
            image: string;
        };
        Readiness: {
            /** @enum {unknown} */
            status: "ok" | "unavailable";
            checks: {
                [key: string]: "ok" | "failed";
            };
        };
        Jwks: {
            keys: {
                /** @constant */
                kty: "RSA";
                kid: string;
                /** @constant */
                alg: "RS256";
                /** @constant */
                use: "sig";
                n: string;
                e: string;
            }[];
        };
        /**
         * @description A time-ordered 128-bit id rendered as a 26-character ULID.
         * @example 01JD4R0B2Q3ZK6Y8N1W5X7V9TC
         */
        Id: string;
        /**
         * @description guest < user < verified_user < host < admin (guests have guest tokens, not accounts).
         * @enum {string}
         */
        Role: "user" | "verified_user" | "host" | "admin";
        Jwt: string;
        /** @description Opaque: `rt_` and 256 random bits (base64url). Stored only as a SHA-256 digest; 30 days. */
        RefreshTokenValue: string;
        User: {
            id: components["schemas"]["Id"];
            /** @description As registered (trimmed); `null` for V-app accounts, which have none. */
            email: string | null;
            display_name: string;
            role: components["schemas"]["Role"];
            email_verified: boolean;
            /** Format: date-time */
            created_at: string;
        };
        Profile: {
            id: components["schemas"]["Id"];
            email: string | null;
            /** @description The V-app `name`, when the account has one. */
            username: string | null;
            display_name: string;
            bio: string | null;
            /**
             * Format: uri
             * @description Absolute URL of the picture (the V-app `image_url`), or null.
             */
            avatar_url: string | null;
            role: components["schemas"]["Role"];
            email_verified: boolean;
            /** Format: date-time */
            created_at: string;
        };
        Session: {
            user: components["schemas"]["User"];
            access_token: components["schemas"]["Jwt"];
            refresh_token: components["schemas"]["RefreshTokenValue"];
            /** @description Seconds until the access token expires (900). */
            expires_in: number;
        };
        TokenPair: {
            access_token: components["schemas"]["Jwt"];
            refresh_token: components["schemas"]["RefreshTokenValue"];
            /** @description Seconds until the access token expires (900). */
            expires_in: number;
        };
        GuestSession: {
            guest_token: components["schemas"]["Jwt"];
            /** @description Seconds until the guest token expires. */
            expires_in: number;
            guest: {
                id: components["schemas"]["Id"];
                display_name: string | null;
            };
        };
        Pagination: {
            /** @description Pass as `cursor` for the next page; null on the last page. */
            cursor: string | null;
            has_more: boolean;
            limit: number;
        };
        RegisterRequest: {
            /**
             * Format: email
             * @description Surrounding whitespace is removed before the checks.
             */
            email: string;
            password: string;
            display_name?: string;
        };
        LoginRequest: {
            /** @description Surrounding whitespace is removed; compared case-insensitively. */
            email: string;
            password: string;
        };
        RefreshRequest: {
            refresh_token: string;
        };
        GuestRequest: {
            display_name?: string;
        };
        MailTokenRequest: {
            /** @description The token from the mail. */
            token: string;
        };
        PasswordResetRequest: {
            /**
             * Format: email
             * @description Surrounding whitespace is removed before the checks.
             */
            email: string;
        };
        PasswordResetConfirm: {
            /** @description The token from the mail. */
            token: string;
            password: string;
        };
        ProfileUpdate: {
            display_name?: string;
            /** @description The V-app `name`; unique, case-sensitive. */
            username?: string;
            bio?: string | null;
        };
        RoleChange: {
            role: components["schemas"]["Role"];
        };
        /**
         * @description US dollars with exactly two decimals.
         * @example 2.50
         */
        Money: string;
        /** @description 10 random base62 characters. */
        ShortCode: string;
        CallLink: {
            id: components["schemas"]["Id"];
            short_code: components["schemas"]["ShortCode"];
            /**
             * Format: uri
             * @description `$PUBLIC_URL/c/<short_code>`
             */
            url: string;
            host_id: components["schemas"]["Id"];
            rate_per_minute: components["schemas"]["Money"];
            window_size_minutes: number;
            /** Format: date-time */
            expires_at: string | null;
            max_uses: number | null;
            use_count: number;
            label: string | null;
            /** Format: date-time */
            scheduled_start: string | null;
            /** Format: date-time */
            scheduled_end: string | null;
            is_active: boolean;
            /** Format: date-time */
            created_at: string;
        };
        CreateLinkRequest: {
            /**
             * @description 0.50–999.99, exactly two decimals.
             * @example 2.50
             */
            rate_per_minute: string;
            window_size_minutes: number;
            /** Format: date-time */
            expires_at?: string | null;
            max_uses?: number | null;
            label?: string | null;
            /** Format: date-time */
            scheduled_start?: string | null;
            /**
             * Format: date-time
             * @description Must be after scheduled_start.
             */
            scheduled_end?: string | null;
        };
        UpdateLinkRequest: {
            rate_per_minute?: string;
            window_size_minutes?: number;
            /** Format: date-time */
            expires_at?: string | null;
            max_uses?: number | null;
            label?: string | null;
            /** Format: date-time */
            scheduled_start?: string | null;
            /** Format: date-time */
            scheduled_end?: string | null;
            is_active?: boolean;
        };
        LinkEnvelope: {
            link: components["schemas"]["CallLink"];
        };
        LinkPage: {
            data: components["schemas"]["CallLink"][];
            pagination: components["schemas"]["Pagination"];
        };
        LinkResolution: {
            short_code: components["schemas"]["ShortCode"];
            /** Format: uri */
            url: string;
            host: {
                id: components["schemas"]["Id"];
                display_name: string;
                /** Format: uri */
                avatar_url: string | null;
            };
            rate_per_minute: components["schemas"]["Money"];
            window_size_minutes: number;
            label: string | null;
            /** Format: date-time */
            scheduled_start: string | null;
            /** Format: date-time */
            scheduled_end: string | null;
            /** @description Whether the link can be called now. */
            available: boolean;
            /** @enum {string|null} */
            unavailable_reason: "inactive" | "expired" | "uses_exhausted" | "outside_schedule" | null;
        };
        InitiateCallRequest: {
            short_code: components["schemas"]["ShortCode"];
            /**
             * @description A payment method. The simulated provider knows `pm_card_visa`, `pm_card_mastercard`
             *     (authorise), `pm_card_chargeDeclined`, `pm_card_insufficientFunds` (decline) and
             *     `pm_card_declineAfterFirstHold` (authorises window 1, declines every later window).
             */
            payment_method_id: string;
            /** @description Shown to the host (default: the guest's or user's display name). */
            guest_name?: string;
        };
        /**
         * @description `pending` (hold being placed) → `waiting` (host not there) → `active` (both connected,
         *     billing) → `ending` → `completed`; `cancelled` before it became active; `failed` after a
         *     billing error (a declined next hold: `end_reason` `billing_failed`; a capture the engine
         *     is still retrying).
         * @enum {string}
         */
        CallStatus: "pending" | "waiting" | "active" | "ending" | "completed" | "cancelled" | "failed";
        Call: {
            id: components["schemas"]["Id"];
            status: components["schemas"]["CallStatus"];
            short_code: components["schemas"]["ShortCode"];
            link_id: components["schemas"]["Id"];
            host: {
                id: components["schemas"]["Id"];
                display_name: string;
            };
            guest: {
                id: components["schemas"]["Id"];
                display_name: string;
            };
            rate_per_minute: components["schemas"]["Money"];
            window_size_minutes: number;
            /** Format: date-time */
            created_at: string;
            /**
             * Format: date-time
             * @description When both peers were first connected.
             */
            started_at: string | null;
            /**
             * Format: date-time
             * @description Billing stops here (for `connection_lost`: when the peer dropped).
             */
            ended_at: string | null;
            duration_seconds: number | null;
            amount_charged: components["schemas"]["Money"];
            /** @enum {string|null} */
            end_reason: "guest_ended" | "host_ended" | "guest_cancelled" | "host_declined" | "host_no_show" | "connection_lost" | "billing_failed" | "link_unavailable" | "payment_declined" | null;
        };
        /** @description coturn "use-auth-secret" credentials; `username` = `<unix expiry>:<call id>`, `credential` = base64(HMAC-SHA1(TURN_SECRET, username)). */
        TurnCredentials: {
            urls: string[];
            username: string;
            credential: string;
        };
        /** @description Opaque `st_…`, single use, 5 minutes, bound to one call and one participant; for `/ws?token=`. */
        SignalingToken: string;
        CallSession: {
            call: components["schemas"]["Call"];
            signaling_token: components["schemas"]["SignalingToken"];
            turn_credentials: components["schemas"]["TurnCredentials"];
        };
        CallEnvelope: {
            call: components["schemas"]["Call"];
        };
        CallPage: {
            data: components["schemas"]["Call"][];
            pagination: components["schemas"]["Pagination"];
        };
        PaymentEntry: {
            id: components["schemas"]["Id"];
            /** @enum {unknown} */
            type: "charge" | "earning";
            call_id: components["schemas"]["Id"];
            /** @description The billing window captured. */
            window: number;
            amount: components["schemas"]["Money"];
            /** @description The platform fee (earnings only). */
            fee: components["schemas"]["Money"] | null;
            /** @description What the host earns (earnings only). */
            net: components["schemas"]["Money"] | null;
            /** @constant */
            currency: "usd";
            /** Format: date-time */
            created_at: string;
        };
        PaymentPage: {
            data: components["schemas"]["PaymentEntry"][];
            pagination: components["schemas"]["Pagination"];
        };
    };
    responses: {
        /**
         * @description Validation failed (`type` `data:validation`), or the credentials are wrong
         *     (`type` `auth:unauthorized`).
         */
        VappValidation: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["VappError"];
            };
        };
        /**
         * @description Bad credentials, an account that no longer exists, or (uploads) an invalid image:
         *     `auth:unauthorized` or `data:validation`.
         */
        VappForbidden: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description `auth:missingtoken`, `auth:badtoken` (undecodable, bad signature, wrong algorithm or audience, expired) or `auth:missinguserid`. */
        VappBadToken: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description The body (1 MiB) or the image (5 MiB) is too large. */
        VappTooLarge: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description A V-app path requested with a method it does not support (`type` `request:methodnotallowed`, status 405); `Allow` lists the methods the path supports. */
        VappMethodNotAllowed: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                Allow: components["headers"]["Allow"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description Too many requests (`type` `rate:limited`). */
        VappRateLimited: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Retry-After": components["headers"]["Retry-After"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description Unexpected failure (`type` `server:error`); nothing internal is revealed. */
        VappInternal: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description The stored image's public URL. */
        VappImageUrl: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                [name: string]: unknown;
            };
            content: {
                "application/json": {
                    /** Format: uri */
                    image_url: string;
                };
            };
        };
        /** @description `validation_error`: `details` maps each offending field (dotted path) to a message. */
        ValidationError: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `not_found` (also the answer for unknown routes). */
        NotFound: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `method_not_allowed`: the path exists but not with this method (the answer for any path of this document, or `/docs`, requested with a method it does not list). `Allow` lists the methods the path supports. */
        MethodNotAllowed: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                Allow: components["headers"]["Allow"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `unauthorized`: no bearer token, or one that is not a valid, unexpired access token of an existing account. */
        Unauthorized: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `forbidden`: the caller's role is too low. */
        Forbidden: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `conflict`: the value is taken or the change is not possible in the account's state; `details` names the field. */
        Conflict: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `payload_too_large`: the body is over 1 MiB (uploads: the file is over MAX_IMAGE_BYTES). */
        PayloadTooLarge: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `unsupported_media_type`: the body's content type is not the one the operation accepts. */
        UnsupportedMediaType: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `rate_limited`: too many requests in the current window. */
        RateLimited: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Retry-After": components["headers"]["Retry-After"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `internal_error`: nothing internal is revealed; the request id is in X-Request-ID. */
        InternalError: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `link_not_found` (also another host's link). */
        LinkNotFound: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `link_unavailable`: `details.reason` is `inactive`, `expired`, `uses_exhausted` or `outside_schedule`. */
        LinkUnavailable: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `payment_declined`: the hold was declined; `details.decline_code` says why (e.g. `generic_decline`, `insufficient_funds`). */
        PaymentDeclined: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `call_not_active`: the call has ended (`details.status`). */
        CallNotActive: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `idempotency_key_reused` (the key was used with a different request) or `conflict` (a request with this key is still running). */
        IdempotencyConflict: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
    };
    parameters: {
        /** @description Page size. */
        Limit: number;
        /** @description The `pagination.cursor` of the previous page (opaque); anything else is a `validation_error`. */
        Cursor: string;
        /**
         * @description A UUID; see the operation for the replay rules. A request that failed with a 5xx, or whose
         *     server died, does not hold its key: its claim is released, or lapses within about 10 s, and
         *     a retry with the same key and body then runs again.
         */
        IdempotencyKey: string;
        CallId: components["schemas"]["Id"];
    };
    requestBodies: never;
    headers: {
        /** @description The request's id (the client's when valid, otherwise a new UUID). */
        "X-Request-ID": string;
        /** @description The ceiling of the current window (present when rate limits are on). */
        "X-RateLimit-Limit": number;
        /** @description Requests left in the current window. */
        "X-RateLimit-Remaining": number;
        /** @description When the window resets, as a unix timestamp in seconds. */
        "X-RateLimit-Reset": number;
        /** @description Seconds until a request may succeed. */
        "Retry-After": number;
        /** @description The language of the error message, negotiated from Accept-Language (en by default). */
        "Content-Language": "en" | "es" | "fr";
        /** @description The methods the path supports. */
        Allow: string;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    vappSignup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VappSignupRequest"];
            };
        };
        responses: {
            /** @description Account created. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VappSession"];
                };
            };
            403: components["responses"]["VappValidation"];
            /** @description The name is taken (`invalid_parameters` = `[{"name":"name","reason":"must be unique"}]`). */
            409: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VappError"];
                };
            };
            413: components["responses"]["VappTooLarge"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
        };
    };
    vappLogin: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VappCredentials"];
            };
        };
        responses: {
            /** @description Signed in. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VappSession"];
                };
            };
            403: components["responses"]["VappForbidden"];
            413: components["responses"]["VappTooLarge"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
        };
    };
    vappToken: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["VappCredentials"];
            };
        };
        responses: {
            /** @description A new token. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        token: components["schemas"]["VappToken"];
                    };
                };
            };
            403: components["responses"]["VappForbidden"];
            413: components["responses"]["VappTooLarge"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
        };
    };
    vappListUsers: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The other users. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["VappUser"][];
                };
            };
            400: components["responses"]["VappBadToken"];
            403: components["responses"]["VappForbidden"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
        };
    };
    vappSetUserImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": components["schemas"]["VappImageUpload"];
            };
        };
        responses: {
            200: components["responses"]["VappImageUrl"];
            400: components["responses"]["VappBadToken"];
            403: components["responses"]["VappForbidden"];
            413: components["responses"]["VappTooLarge"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
        };
    };
    vappUploadImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": components["schemas"]["VappImageUpload"];
            };
        };
        responses: {
            200: components["responses"]["VappImageUrl"];
            400: components["responses"]["VappBadToken"];
            403: components["responses"]["VappForbidden"];
            413: components["responses"]["VappTooLarge"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process is up. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        /** @constant */
                        status: "ok";
                    };
                };
            };
        };
    };
    getReady: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready to serve. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            /** @description A dependency is unreachable. */
            503: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
        };
    };
    getVappHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Always `OK`. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": "OK";
                };
            };
        };
    };
    getJwks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The JSON Web Key Set. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Jwks"];
                };
            };
        };
    };
    getOpenApiDocument: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI 3.1 document. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        openapi: string;
                        info: Record<string, never>;
                        paths: Record<string, never>;
                    };
                };
            };
        };
    };
    getDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The documentation page. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Redirect to the documentation page. */
            302: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    Location: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    getMedia: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                key: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The image, with long-lived caching (keys never change content). */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "Cache-Control": string;
                    "Content-Length": number;
                    [name: string]: unknown;
                };
                content: {
                    "image/png": string;
                    "image/jpeg": string;
                    "image/gif": string;
                    "image/webp": string;
                };
            };
            400: components["responses"]["ValidationError"];
            404: components["responses"]["NotFound"];
        };
    };
    registerUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RegisterRequest"];
            };
        };
        responses: {
            /** @description Account created and signed in. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Session"];
                };
            };
            400: components["responses"]["ValidationError"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    loginUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["LoginRequest"];
            };
        };
        responses: {
            /** @description Signed in. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Session"];
                };
            };
            400: components["responses"]["ValidationError"];
            /** @description `invalid_credentials`: unknown e-mail or wrong password (indistinguishable). */
            401: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    refreshSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RefreshRequest"];
            };
        };
        responses: {
            /** @description A new token pair. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenPair"];
                };
            };
            400: components["responses"]["ValidationError"];
            /** @description `unauthorized`: the refresh token is unknown, expired, revoked or was already used. */
            401: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    logoutSession: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RefreshRequest"];
            };
        };
        responses: {
            /** @description Signed out. */
            204: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["ValidationError"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    createGuest: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["GuestRequest"];
            };
        };
        responses: {
            /** @description A guest and its token. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GuestSession"];
                };
            };
            400: components["responses"]["ValidationError"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    verifyEmail: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["MailTokenRequest"];
            };
        };
        responses: {
            /** @description The e-mail is verified. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        user: components["schemas"]["User"];
                    };
                };
            };
            /** @description `validation_error`; `details.token` when the token is unknown, expired or already used. */
            400: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    resendVerificationEmail: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The mail is on its way. */
            202: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            /** @description `conflict`: the e-mail is already verified (or the account has no e-mail). */
            409: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    requestPasswordReset: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PasswordResetRequest"];
            };
        };
        responses: {
            /** @description Accepted. */
            202: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["ValidationError"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    confirmPasswordReset: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PasswordResetConfirm"];
            };
        };
        responses: {
            /** @description The password is changed. */
            204: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `validation_error`; `details.token` when the token is unknown, expired or already used. */
            400: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    getMyProfile: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The profile. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Profile"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    updateMyProfile: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ProfileUpdate"];
            };
        };
        responses: {
            /** @description The updated profile. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Profile"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    setMyAvatar: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "multipart/form-data": {
                    /** @description PNG, JPEG, GIF or WebP, at most 5 MiB. */
                    avatar: string;
                };
            };
        };
        responses: {
            /** @description The updated profile. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Profile"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    listUsers: {
        parameters: {
            query?: {
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `pagination.cursor` of the previous page (opaque); anything else is a `validation_error`. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of accounts. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        data: components["schemas"]["Profile"][];
                        pagination: components["schemas"]["Pagination"];
                    };
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    setUserRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RoleChange"];
            };
        };
        responses: {
            /** @description The account with its new role. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Profile"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    listLinks: {
        parameters: {
            query?: {
                /** @description `true`: only active links; `false`: only deactivated ones; absent: all. */
                active?: boolean;
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `pagination.cursor` of the previous page (opaque); anything else is a `validation_error`. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of links. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkPage"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    createLink: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateLinkRequest"];
            };
        };
        responses: {
            /** @description The link. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    resolveLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                short_code: components["schemas"]["ShortCode"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The link as a guest sees it. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkResolution"];
                };
            };
            400: components["responses"]["ValidationError"];
            404: components["responses"]["LinkNotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    getLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The link. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["LinkNotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    deleteLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The deactivated link. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["LinkNotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    updateLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateLinkRequest"];
            };
        };
        responses: {
            /** @description The updated link. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LinkEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["LinkNotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    initiateCall: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description A UUID; see the operation for the replay rules. A request that failed with a 5xx, or whose
                 *     server died, does not hold its key: its claim is released, or lapses within about 10 s, and
                 *     a retry with the same key and body then runs again.
                 */
                "X-Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["InitiateCallRequest"];
            };
        };
        responses: {
            /** @description The call, waiting for the host. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallSession"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentDeclined"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["LinkNotFound"];
            /** @description `call_not_active` (the call was ended while its first hold was being placed, or a replay once the call has ended; `details.status`), `idempotency_key_reused` or `conflict` (see X-Idempotency-Key). */
            409: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            410: components["responses"]["LinkUnavailable"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    listCalls: {
        parameters: {
            query?: {
                status?: components["schemas"]["CallStatus"];
                role?: "host" | "guest";
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `pagination.cursor` of the previous page (opaque); anything else is a `validation_error`. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of calls. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallPage"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    getCall: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The call. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    joinCall: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The call and the host's signaling token. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallSession"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["CallNotActive"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    createSignalingToken: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The token. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        signaling_token: components["schemas"]["SignalingToken"];
                    };
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["CallNotActive"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    endCall: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description A UUID; see the operation for the replay rules. A request that failed with a 5xx, or whose
                 *     server died, does not hold its key: its claim is released, or lapses within about 10 s, and
                 *     a retry with the same key and body then runs again.
                 */
                "X-Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The ended call, settled (`completed`, `cancelled` or `failed`) with its final amount. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallEnvelope"];
                };
            };
            /** @description The end is recorded but the call is still being settled (`ending`); poll the call. */
            202: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CallEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["IdempotencyConflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    getPaymentHistory: {
        parameters: {
            query?: {
                type?: "charge" | "earning";
                /** @description Page size. */
                limit?: components["parameters"]["Limit"];
                /** @description The `pagination.cursor` of the previous page (opaque); anything else is a `validation_error`. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of entries. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PaymentPage"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
        };
    };
    connectSignaling: {
        parameters: {
            query?: {
                token?: string;
                /** @description The call the client means to join; refused when it is not the token's. */
                call_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Switching Protocols; the signaling session begins (see docs/signaling.md). */
            101: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
        };
    };
}

/** The security schemes each operation accepts (any one is enough); never: public. */
export interface operationSecurity {
    vappSignup: never;
    vappLogin: never;
    vappToken: never;
    vappListUsers: "vappToken";
    vappSetUserImage: "vappToken";
    vappUploadImage: "vappToken";
    getHealth: never;
    getReady: never;
    getVappHealth: never;
    getJwks: never;
    getOpenApiDocument: never;
    getDocs: never;
    getMedia: never;
    registerUser: never;
    loginUser: never;
    refreshSession: never;
    logoutSession: never;
    createGuest: never;
    verifyEmail: never;
    resendVerificationEmail: "accessToken";
    requestPasswordReset: never;
    confirmPasswordReset: never;
    getMyProfile: "accessToken";
    updateMyProfile: "accessToken";
    setMyAvatar: "accessToken";
    listUsers: "accessToken";
    setUserRole: "accessToken";
    createLink: "accessToken";
    listLinks: "accessToken";
    resolveLink: never;
    getLink: "accessToken";
    updateLink: "accessToken";
    deleteLink: "accessToken";
    initiateCall: "guestToken" | "accessToken";
    listCalls: "guestToken" | "accessToken";
    getCall: "guestToken" | "accessToken";
    joinCall: "accessToken";
    createSignalingToken: "guestToken" | "accessToken";
    endCall: "guestToken" | "accessToken";
    getPaymentHistory: "guestToken" | "accessToken";
    connectSignaling: never;
}
