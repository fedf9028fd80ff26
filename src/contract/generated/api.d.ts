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
         * @description Creates an account with a username (`name`), a password and a display name, and answers as
         *     `/login` does: the new user, a V-app token and every other user.
         *
         *     Fields are checked in the order `name`, `password`, `display_name`; each reports its first
         *     failure only, and all failures are reported together (403 `data:validation`). A body with
         *     another content type, or JSON that does not parse, counts as empty. Unknown fields are
         *     ignored. Names are unique case-sensitively (409). A failed signup creates nothing.
         *
         *     In Vonage mode the user is also made in the Vonage Users API, and its `USR-…` id is the
         *     user's `id`; a name the application already has at Vonage is taken too (409).
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
        /**
         * Start a session
         * @description Checks a username and password and answers with the user, a new V-app token (1 hour) and
         *     every other user. `name` and `password` must be present strings (otherwise 403
         *     `data:validation` listing them); an unknown name and a wrong password are the same 403
         *     `auth:unauthorized`. A body with another content type, or JSON that does not parse, counts
         *     as empty. Unknown fields are ignored.
         */
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
        /**
         * Get a new token (the previous one lasts 1 hour)
         * @description Checks a username and password as `/login` does and answers with a new V-app token only
         *     (1 hour); tokens issued earlier stay valid until they expire. The same errors as `/login`.
         */
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
        /**
         * Every other user (the caller excluded), oldest first
         * @description The whole list, every time, as the V-app's clients expect. It carries an `ETag` that changes
         *     whenever the list does (a user signs up, is renamed, changes picture or is deleted, on any
         *     instance) and differs per caller; a request whose `If-None-Match` names it is answered `304`
         *     without a body. A request without `If-None-Match` gets the list as before. When
         *     `Accept-Encoding` admits gzip the list is sent gzip-encoded, whichever coding the client
         *     prefers (it is kept compressed).
         */
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
         * @description Same rules as `/users/image` (one `image` file part: PNG, JPEG, GIF or WebP, at most 5 MiB,
         *     re-encoded without metadata); the image is stored and its public URL returned. It is not the
         *     account's picture, but it is recorded as the account's upload: listed in its data export
         *     (`GET /v1/users/me/export`) and removed from storage when the account is deleted. Nothing is
         *     stored when the upload fails.
         */
        post: operations["vappUploadImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/voice/answer": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Answer a call (Vonage's answer webhook, by GET)
         * @description The Vonage application's `answer_url` when its method is GET (a Vonage application's
         *     default): Vonage calls it as a call starts, with the call's parameters in the query, and
         *     runs the call control object (NCCO) answered. As the original V-app server:
         *
         *     * when `to` names a destination: a `talk` action "Connecting you to <to>", then a `connect`
         *       action to the app user `<to>`;
         *     * otherwise: a `talk` action "No destination user - hanging up".
         *
         *     `to` names a destination when it could be a V-app user's name: 3 to 64 characters, without
         *     NUL or a lone surrogate. An empty `to`, or one of another shape, is no destination (a call
         *     is always answered with an NCCO); `to` sent more than once is 403. It is not looked up
         *     (Vonage's `connect` fails for a user Vonage does not know). Vonage's other parameters are
         *     accepted and ignored.
         *
         *     Signed when `VONAGE_SIGNATURE_SECRET` is set (see the 401 response), open otherwise. Not
         *     rate limited: Vonage calls from a few addresses, for every call of the application.
         */
        get: operations["vappVoiceAnswer"];
        put?: never;
        /**
         * Answer a call (Vonage's answer webhook, by POST)
         * @description The Vonage application's `answer_url` when its method is POST: as the GET, with the call's
         *     parameters in a JSON body. A body that is not a JSON object (another content type, JSON
         *     that does not parse, an array ...) counts as empty: no destination. A `to` that is `null`
         *     is no destination; one that is not a string is 403. Other fields are ignored. Signed and
         *     not rate limited as the GET.
         */
        post: operations["vappVoiceAnswerPost"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/voice/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Receive a call's events (Vonage's voice event webhook)
         * @description The Vonage application's voice `event_url`: Vonage posts each change of a call's status
         *     here (`started`, `ringing`, `answered`, `completed` ...). The event is logged (its
         *     `status`, `uuid` and `conversation_uuid`) and acknowledged with 200 `OK`, as the original
         *     V-app server did; nothing else is done with it. The body is not validated: any JSON object,
         *     or a body that is not one (counted as empty), is acknowledged the same way, within the
         *     1 MiB body limit. Signed and not rate limited as `/voice/answer`.
         */
        post: operations["vappVoiceEvents"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/rtc/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Receive conversation events (Vonage's RTC event webhook)
         * @description The Vonage application's RTC `event_url`: Vonage posts the application's conversation
         *     events here (`member:joined`, `text`, `conversation:created` ...). As `/voice/events`: the
         *     event is logged (its `type`, `id` and `conversation_id`) and acknowledged with 200 `OK`;
         *     the body is not validated. Signed and not rate limited as `/voice/answer`.
         */
        post: operations["vappRtcEvents"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/_/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Not here; metrics have a port of their own
         * @description The original V-app server answered `200 OK` here (without any metrics). This service's
         *     Prometheus metrics are served at `GET /metrics` on a listener of their own (`METRICS_PORT`,
         *     kept off the public network), so there is nothing to redirect to: this path answers a
         *     V-app 404 that says where they are. Not rate limited.
         */
        get: operations["vappMetrics"];
        put?: never;
        post?: never;
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
        /**
         * Liveness (no I/O)
         * @description Answers as long as the process serves HTTP; it touches no database, Redis or storage (use
         *     `/ready` for those). Successful probes are not access-logged. Not rate limited.
         */
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
        /**
         * Readiness (database and, when configured, Redis reachable)
         * @description Checks every dependency this instance needs to serve requests, on each call: the database
         *     answers a query and, when `REDIS_URL` is set, Redis answers; and the instance is not
         *     shedding load. `200` when every check is `ok`, `503` otherwise; both carry the same body
         *     shape, one entry per check. Not rate limited, and answered while the instance sheds load.
         */
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
        /**
         * Health check in the V-app hosting's form
         * @description The liveness probe the V-app's hosting calls: like `/health` (no I/O, successful probes not
         *     access-logged, not rate limited), answered as the plain text `OK`.
         */
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
         * @description The current RS256 key and every retired key whose tokens may still be valid, as a JSON Web
         *     Key Set (RFC 7517). A token's `kid` header names its key; key ids are RFC 7638 thumbprints,
         *     so every instance publishes the same ids. In Vonage mode (`VONAGE_APPLICATION_ID` set) the
         *     Vonage application's public key is listed last: it signs the V-app tokens (see the
         *     `vappToken` security scheme), which carry no `kid`, as Vonage's own tokens; a verifier tries
         *     each key of the set. That key never verifies a v1 token. Cacheable for 5 minutes
         *     (`Cache-Control: public, max-age=300`). Not rate limited.
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
        /**
         * This document, as JSON
         * @description `openapi.yaml` as JSON, as written, except `servers`, which names this deployment
         *     (PUBLIC_URL). Feed it to a client generator or a validating proxy. Not rate limited.
         */
        get: operations["getOpenApiDocument"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/asyncapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The signaling protocol's AsyncAPI document, as JSON
         * @description `asyncapi.yaml` (AsyncAPI 3.0) as JSON, as written, except `servers`, which names this
         *     deployment (the `ws`/`wss` form of PUBLIC_URL). It describes `GET /ws`: the channel and its
         *     `token`, every message in both directions with its payload schema (the server validates
         *     client frames against these very schemas), and the close codes (`x-close-codes`). Not rate
         *     limited.
         */
        get: operations["getAsyncApiDocument"];
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
        /**
         * Human-readable documentation (Swagger UI)
         * @description Swagger UI rendering this document (the same text as `/v1/openapi.json`, with this
         *     deployment's `PUBLIC_URL` as its server). The page's scripts and styles are served under
         *     `/docs/`. Not rate limited.
         */
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
        /**
         * A stored image, public
         * @description Streams an image stored by an upload (V-app `/users/image` and `/image`, v1 avatars): the
         *     `image_url` and `avatar_url` values point here (unless `S3_PUBLIC_URL` serves them straight
         *     from the bucket). No authentication; not rate limited. The content type follows the key's
         *     extension, with `X-Content-Type-Options: nosniff`. A key that is not of the stored form is
         *     400; a key that names nothing (never stored, or a replaced picture) is 404.
         */
        get: operations["getMedia"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/c/{short_code}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The guest page of a call link (HTML)
         * @description What a guest sees on opening a link's `url`: the host (display name, picture), the rate, the
         *     window size and the price rule, a name field, a card and "Start call"; then the call itself
         *     (video, mute, camera, running cost, hang-up) and the amount charged at the end. The page's
         *     script creates a guest session (`POST /v1/auth/guest`), starts the call
         *     (`POST /v1/calls/initiate` with an idempotency key) and connects to the signaling socket
         *     (`/ws`) with the TURN credentials it was given.
         *
         *     A link that cannot be called now (`inactive`, `expired`, `uses_exhausted`,
         *     `outside_schedule`, `payments_disabled`, as `resolveLink` says) is a readable page with status
         *     410; a code that names no link (or is not of the form of one) is a page with status 404.
         *     Rate limited as `resolveLink` is (a refusal is the JSON 429, as from every operation). The
         *     pages send a Content-Security-Policy of their own: scripts, styles and connections from this
         *     origin only (and Stripe.js's origins with the `stripe` provider).
         */
        get: operations["getGuestPage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/host": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The host console (HTML)
         * @description A host signs in (`POST /v1/auth/login`), manages their links (create, copy, deactivate),
         *     sees waiting calls as they arrive (the live channel `GET /v1/events`), joins one in the same
         *     call view as the guest page, and reads their earnings. Stripe Connect onboarding returns here
         *     (`?connect=return|refresh`). Not rate limited: the page is the same for everyone.
         */
        get: operations["getHostConsole"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/app/{file}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A script or stylesheet of the web pages
         * @description The bundled scripts and the stylesheet the pages name. Their names carry a hash of their
         *     content, so they are cached for a year. Not rate limited.
         */
        get: operations["getWebAsset"];
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
        /**
         * The caller's profile
         * @description The account behind the access token, read now: its current role (which may differ from the
         *     token's `role` claim), e-mail verification, V-app username and picture. Guest tokens are
         *     refused (`401`).
         */
        get: operations["getMyProfile"];
        put?: never;
        post?: never;
        /**
         * Delete the caller's account
         * @description Deletes the account for good. The owner confirms it: with `password`, or by a sign-in
         *     (`POST /v1/auth/login` or `/v1/auth/register`) less than 5 minutes ago, told by the access
         *     token's `auth_time` claim (a token from `POST /v1/auth/refresh` keeps the time of the
         *     sign-in that began its session, so a refresh does not count as signing in again). Without
         *     either: `400` (`details.password`); a wrong password: `401` `invalid_credentials`; in both
         *     cases nothing changes. The password check draws on the login budget (5 per 15 min per IP).
         *
         *     In order: the account's calls still going (as host or guest) are ended as their
         *     participant would end them and settled (billed up to now); its pictures (profile picture
         *     and `POST /image` uploads) are removed from storage and its saved-card customer is deleted
         *     at the payment provider (a store or provider that cannot be reached answers `503` before
         *     anything else changed: retry); then, in one transaction, every session (refresh tokens),
         *     mail token, notification and stored idempotent response (the account's and those of the
         *     guest sessions erased below) is deleted, its links are deactivated (their labels removed),
         *     its name is removed from its calls and from the other participants' notices about them,
         *     guest sessions that gave its verified e-mail for receipts lose that address and name, and
         *     the account row becomes a tombstone: e-mail, username, display name, bio, password,
         *     picture and language emptied. Calls, payments, refunds, disputes and payouts stay for the
         *     accounting, without personal data. The deletion is recorded in the audit log
         *     (`user.deleted`, `by: self`).
         *
         *     Afterwards every token of the account is refused at once (v1 access and refresh tokens,
         *     V-app tokens), it cannot sign in on either surface, it leaves the V-app user list, and its
         *     e-mail address and V-app name are free: they may register a new, unrelated account. A
         *     second deletion finds no account: `401` `unauthorized`, its token is refused (also when two
         *     deletions are sent at once: one answers `204`, the other `401`).
         */
        delete: operations["deleteMyAccount"];
        options?: never;
        head?: never;
        /**
         * Change the caller's profile, e-mail language or notification preferences
         * @description Only the fields sent change (within `notification_preferences` too). `username` is the
         *     V-app `name` (unique, case-sensitive); `bio: null` clears the bio; `language` is the
         *     language of the account's e-mails.
         */
        patch: operations["updateMyProfile"];
        trace?: never;
    };
    "/v1/users/me/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Everything stored about the caller's account
         * @description One JSON document with every record the service keeps about the account, a section per
         *     kind (see `AccountExport`): the profile, sessions, mail tokens, uploaded images, links,
         *     calls as host and as guest with their billing windows, payments (charges, earnings,
         *     refunds, disputes), payouts, notifications, guest sessions that gave the account's
         *     verified e-mail for receipts, the payment provider's customer and connected-account
         *     records, and the audit log's entries by or about the account. Never a secret: no password
         *     hash, no token and no token hash. Each list is complete (not paginated), newest first.
         *     Limited to 5 per hour per account (`x-rate-limit: export`). An account deleted meanwhile
         *     answers `401`, as its token is refused from then on.
         */
        get: operations["exportMyData"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
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
        /**
         * Every account, newest first (admin only)
         * @description Every account (v1 and V-app alike) with its profile, newest first by `created_at`, a page
         *     at a time (see `pagination`). Callers below role `admin` get 403.
         */
        get: operations["listUsers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/users/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete an account (admin only)
         * @description Deletes another account exactly as `DELETE /v1/users/me` does (its open calls ended and
         *     settled, its pictures removed, its sessions, notifications and saved cards deleted, its
         *     row tombstoned, accounting records kept without personal data), without its password.
         *     Recorded in the audit log (`user.deleted`, `by: admin`, the admin as actor).
         *
         *     The admin confirms it as an owner confirms their own deletion: with the admin's own
         *     `password`, or by the admin's sign-in less than 5 minutes ago (the access token's
         *     `auth_time`; a refresh does not count). Without either: `400` (`details.password`); a
         *     wrong password: `401` `invalid_credentials`; nothing changes. Rate limited by the `login`
         *     policy (5 per 15 minutes per address, shared with the login operations), as the owner's
         *     own deletion is: a token cannot be used to guess the password faster than a login could.
         *     Callers below role `admin` get 403; an unknown or already deleted account is `404`; an
         *     admin deletes their own account with `DELETE /v1/users/me` (`409` here).
         */
        delete: operations["deleteUser"];
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
         *     account's access tokens shows it from the next login or refresh. Callers below role
         *     `admin` get 403.
         */
        post: operations["setUserRole"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/audit": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The audit log, newest first (admin only)
         * @description Who changed what, and when: role changes, refunds, account deletions and signing-key
         *     rotations, one entry each, newest first by `created_at`, a page at a time (see
         *     `pagination`). The log is append-only: entries are never changed or removed, not even when
         *     the account they name is deleted (they name it by id only). Callers below role `admin`
         *     get 403.
         */
        get: operations["listAuditLog"];
        put?: never;
        post?: never;
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
        /**
         * The caller's call links, newest first (hosts)
         * @description The links the caller created (never another host's), newest first by `created_at`, a page
         *     at a time; `active` filters on `is_active`. Callers below role `host` get 403.
         */
        get: operations["listLinks"];
        put?: never;
        /**
         * Create a call link (hosts)
         * @description `rate_per_minute` is a two-decimal USD string between 0.50 and 999.99; `window_size_minutes`
         *     1–60 (each window is held on the guest's card before it starts and captured when it ends).
         *     `scheduled_end` must be after `scheduled_start`. The `short_code` is 10 random base62
         *     characters; `url` is `$PUBLIC_URL/c/<short_code>`. Callers below role `host` get 403.
         *     With the `stripe` payments provider the host must have finished Stripe Connect onboarding
         *     (`POST /v1/payments/connect/onboarding`): until the host's charges are enabled the answer
         *     is `402 stripe_not_connected`.
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
         *     `unavailable_reason` says why (`inactive`, `expired`, `uses_exhausted`, `outside_schedule`,
         *     or `payments_disabled`: with the stripe provider, the host's account cannot take charges now).
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
                /** @description The link's `id` (from create or list; not its `short_code`). */
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        /**
         * One of the caller's links
         * @description The link with its current `use_count`. Another host's link is `404 link_not_found`, as if
         *     it did not exist; callers below role `host` get 403.
         */
        get: operations["getLink"];
        put?: never;
        post?: never;
        /**
         * Deactivate a link (its calls and history stay)
         * @description Sets `is_active` to false; the link is never removed. Idempotent. Calls still waiting for
         *     the host on this link are cancelled (`link_unavailable`) and their holds released. No
         *     request body. Another host's link is `404 link_not_found`; callers below role `host` get 403.
         */
        delete: operations["deleteLink"];
        options?: never;
        head?: never;
        /**
         * Change a link's terms (calls already made keep theirs)
         * @description Any subset of the fields; `null` clears an optional one. `is_active` re-activates or
         *     deactivates; deactivating cancels the link's calls still waiting for the host (as
         *     `DELETE` does), releasing their holds. With the `stripe` payments provider, setting `is_active: true` needs the host's
         *     charges to be enabled (Stripe Connect onboarding finished): `402 stripe_not_connected`
         *     until then.
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
         *
         *     `payment_method_id`: with the `stripe` provider, a card saved to the caller's own Stripe
         *     Customer through `POST /v1/payments/setup-intent` (or `/v1/payments/guest/setup-intent`
         *     for guests); with the simulated provider, one of its test payment methods. When the first
         *     hold needs 3-D Secure the answer is `402 payment_declined` with `details.decline_code`
         *     `authentication_required`, `details.client_secret` and `details.payment_intent_id`: the
         *     client authenticates that PaymentIntent with Stripe.js and retries initiate with
         *     `payment_intent_id` (and a new `X-Idempotency-Key`); the authenticated intent becomes
         *     window 1's hold. Later windows are held without the customer present. A payment provider
         *     that cannot be reached is `503 service_unavailable` (`details.reason`
         *     `payments_unavailable`, with `Retry-After`); any other refusal by the provider is
         *     `402 stripe_error`.
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
         * @description The calls the caller takes part in, newest first by `created_at`, a page at a time.
         *     `role=host`: calls on the caller's links; `role=guest`: calls the caller made; absent: both.
         *     A guest token sees the guest's own calls.
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
                /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        /**
         * A call the caller takes part in
         * @description The call as it is now (status, times, amount charged so far). Either participant may read
         *     it: the host with an access token, the guest with the guest or access token that initiated
         *     it. A call the caller is not part of is `404 not_found`. Poll it after a `202` from
         *     `POST /v1/calls/{id}/end`.
         */
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
                /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * The host takes the call
         * @description Answers the host's signaling token (single use, 5 minutes) and TURN credentials; the call
         *     turns `active` when both are connected to `/ws`. Works while the call is `waiting` or
         *     `active`: `409 call_not_active` once the call has ended. Only the call's host may join
         *     (403 for its guest; a call the caller is not part of is `404`). No request body.
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
                /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A fresh signaling token for a participant (reconnects)
         * @description A new signaling token for the caller's side of the call (guest or host), to reconnect to
         *     `/ws` after a dropped connection: single use, 5 minutes; with fresh TURN credentials (those
         *     of initiate or join expire after `TURN_TTL_SECONDS`). Works while the call is `waiting`
         *     or `active`: `409 call_not_active` once the call has ended. A call the caller is not part
         *     of is `404`. No request body.
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
                /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
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
         * Charges and refunds (as a guest), earnings, refunds and disputes (as a host), newest first
         * @description The caller's money movements, newest first. Every entry is about one payment (a captured
         *     billing window): `payment_id` is that payment's id and `window` its billing window.
         *
         *     * `charge` (guests) and `earning` (hosts): the payment itself, one entry per captured
         *       window; `id` = `payment_id`, `status` null. Charges show the amount paid (`fee` and
         *       `net` null); earnings show the gross amount, the platform fee (7 %, rounded half up to
         *       the cent) and the host's net.
         *     * `refund`: money given back on a payment (`POST /v1/admin/payments/{id}/refund`, or a
         *       refund made at the provider). Guests see `amount` = the amount refunded to them (`fee`
         *       and `net` null); hosts see `amount`, `fee` = the platform fee refunded and `net` = the
         *       transfer reversed (what their earnings are reduced by). `status` is the refund's status
         *       (`pending`, `succeeded`, `failed`, `canceled`, `requires_action`).
         *     * `dispute` (hosts): a chargeback opened by the guest's bank on one of the host's payments;
         *       `amount` = the amount disputed (`fee` and `net` null); `status` is the dispute's status
         *       as the provider reports it (`warning_needs_response`, `warning_under_review`,
         *       `warning_closed`, `needs_response`, `under_review`, `won`, `lost`, ...).
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
    "/v1/payments/setup-intent": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start saving a card (signed-in users)
         * @description Creates a Stripe SetupIntent on the caller's own Stripe Customer (the Customer is created
         *     on first use and kept for the account). The client confirms it with Stripe.js
         *     (`stripe.confirmSetup` or `stripe.confirmCardSetup` with `client_secret` and
         *     `publishable_key`) and passes the resulting `payment_method` id to
         *     `POST /v1/calls/initiate` as `payment_method_id`. No request body.
         *
         *     With the simulated provider (`provider: "simulated"`) `client_secret` is a simulated secret
         *     that no Stripe.js call accepts, and `test_payment_methods` lists the payment methods the
         *     simulation knows (`pm_card_visa`, `pm_card_mastercard`, `pm_card_chargeDeclined`,
         *     `pm_card_insufficientFunds`, `pm_card_declineAfterFirstHold`), which initiate accepts
         *     directly; with Stripe it is null.
         */
        post: operations["createSetupIntent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/guest/setup-intent": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start saving a card (guests)
         * @description The same as `POST /v1/payments/setup-intent` for a guest token: the SetupIntent is created on
         *     the guest's own Stripe Customer (created on first use), and the confirmed `payment_method`
         *     is passed to `POST /v1/calls/initiate`. No request body.
         */
        post: operations["createGuestSetupIntent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/connect": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The host's Stripe Connect status (hosts)
         * @description Where the host's Stripe Connect (Express) account stands; callers below role `host` get 403.
         *
         *     * `not_started`: no connected account yet (start with `POST /v1/payments/connect/onboarding`).
         *     * `pending`: onboarding is not finished (the details are not submitted).
         *     * `enabled`: charges are enabled; the host's links can be called.
         *     * `restricted`: the details are submitted but charges are disabled (requirements are due
         *       or past due; `requirements_due` lists them).
         *
         *     `requirements_due` lists Stripe's currently-due and past-due requirements. With the
         *     simulated provider every host is `enabled`.
         */
        get: operations["getConnectStatus"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/connect/onboarding": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A Stripe onboarding link for the host (hosts)
         * @description A Stripe Account Link (single use, short-lived) to the onboarding of the host's Express
         *     connected account; the account is created on first use and kept. Stripe sends the host
         *     back to `$PUBLIC_URL/host?connect=return` when they leave the flow, or to
         *     `$PUBLIC_URL/host?connect=refresh` when the link has expired or was already used (ask for a
         *     new one). The outcome shows in `GET /v1/payments/connect`. Callers below role `host` get
         *     403. No request body.
         */
        post: operations["createConnectOnboarding"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/connect/dashboard": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A login link to the host's Stripe Express dashboard (hosts)
         * @description A single-use login link to the host's Stripe Express dashboard (balances, payouts, bank
         *     details). Before onboarding is finished (charges not enabled) the answer is
         *     `402 stripe_not_connected`. Callers below role `host` get 403. No request body.
         */
        post: operations["createConnectDashboardLink"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/earnings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The host's earnings and balance (hosts)
         * @description One entry per currency (an empty array when nothing was earned yet); all amounts are
         *     two-decimal strings:
         *
         *     * `gross`: the sum of the host's captures;
         *     * `fee`: the platform fees kept (after the fees given back with refunds);
         *     * `refunded`: the amount refunded to guests;
         *     * `net`: what the host earned after refunds: `gross − fee − refunded` (the net of the
         *       captures minus the transfers reversed);
         *     * `disputed`: the amount in open or lost disputes;
         *     * `pending` and `available`: the balance of the host's connected account as the provider
         *       reports it (not yet / already available for payout). With the simulated provider the net
         *       of a capture becomes available PAYMENTS_AVAILABLE_AFTER_HOURS (default 48) after the
         *       capture, minus the payouts.
         *
         *     Callers below role `host` get 403.
         */
        get: operations["getEarnings"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/payments/payouts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Payouts to the host's bank account, newest first (hosts)
         * @description The payouts of the host's connected account as the provider reported them through webhooks
         *     (`payout.paid`, `payout.failed`); a payout's `status` is its latest reported state.
         *     Callers below role `host` get 403.
         */
        get: operations["listPayouts"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhooks/stripe": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Stripe webhook endpoint (called by Stripe only)
         * @description Stripe delivers its events here. The `Stripe-Signature` header is verified with the Stripe
         *     SDK over the raw request body and STRIPE_WEBHOOK_SECRET (every `v1` signature in the header
         *     is tried; the timestamp must be within 300 s of now). Each event is stored by its `id` and
         *     processed exactly once, whatever the order or repetition of deliveries: a redelivered event
         *     answers `200` with `duplicate: true` and changes nothing.
         *
         *     Handled types: `payment_intent.succeeded`, `payment_intent.canceled`,
         *     `payment_intent.payment_failed`, `charge.refunded`, `charge.dispute.created`,
         *     `charge.dispute.closed`, `account.updated`, `payout.paid`, `payout.failed`. Any other type
         *     is acknowledged with `200` and ignored.
         *
         *     With the simulated provider there is no webhook secret: every delivery is refused with `400`.
         */
        post: operations["stripeWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/admin/payments/{id}/refund": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Refund a payment in full or in part (admin only)
         * @description `id` is a payment: a captured billing window, i.e. the `id` of a `charge` or `earning`
         *     entry of the payment history. Without `amount` everything not yet refunded is refunded;
         *     the total refunded never exceeds the amount captured (`400 validation_error` with
         *     `details.amount` otherwise). The platform fee is refunded in proportion to the amount
         *     (rounded half up to the cent) and the host's transfer is reversed by the rest
         *     (`fee_refunded` + `transfer_reversed` = `amount`). The guest sees the refund in their
         *     payment history; the host sees their earnings reduced (a `refund` history entry, and
         *     `refunded` in `GET /v1/payments/earnings`). Callers below role `admin` get 403.
         *
         *     `X-Idempotency-Key` is required (a UUID, per caller, kept 24 h) and follows the replay rules
         *     of `POST /v1/calls/initiate`: the same key with the same body replays the first response
         *     (status included) and refunds nothing more; the same key with another body is
         *     `409 idempotency_key_reused`; a duplicate sent while the first is running waits for it (or
         *     gets `409 conflict`).
         */
        post: operations["refundPayment"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/notifications": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's notifications, newest first
         * @description The notifications addressed to the caller, newest first by `created_at`, a page at a time;
         *     `unread=true` keeps only those not yet read. Signed-in users only: a guest token is
         *     `401 unauthorized`. The same notifications arrive live on `GET /v1/events`.
         */
        get: operations["listNotifications"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/notifications/unread-count": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * How many of the caller's notifications are unread
         * @description The number of the caller's notifications with `read_at` null (for a badge). Signed-in users
         *     only: a guest token is `401 unauthorized`.
         */
        get: operations["getUnreadNotificationCount"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/notifications/{id}/read": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The notification's `id` (from `GET /v1/notifications` or the `id:` of a `GET /v1/events` event). */
                id: components["parameters"]["NotificationId"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Mark one notification read
         * @description Sets the notification's `read_at` to now. Idempotent: marking a notification that is
         *     already read again answers `204` and keeps its first `read_at`. A notification that is not
         *     the caller's is `404 not_found`, as an unknown id is (another user's notification is never
         *     revealed); a path `id` that is not a ULID is `400 validation_error` (`details.id`), as for
         *     every path id. Signed-in users only: a guest token is `401 unauthorized`. No request body.
         */
        put: operations["markNotificationRead"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/notifications/read-all": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Mark all the caller's notifications read
         * @description Sets `read_at` to now on every unread notification of the caller; those already read keep
         *     their first `read_at`. Answers `204` also when nothing was unread. Signed-in users only: a
         *     guest token is `401 unauthorized`. No request body.
         */
        post: operations["markAllNotificationsRead"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's live notifications (Server-Sent Events)
         * @description A `text/event-stream` that stays open. Each notification of the caller is sent as
         *     `event: notification` the moment it is stored, on whichever instance the client is
         *     connected to: `id:` is the notification's `id`, `data:` the `Notification` as JSON on one
         *     line. A comment line (`: heartbeat`) every 25 seconds keeps proxies from closing an idle
         *     stream.
         *
         *     The stream opens with `retry: 3000` (how long an EventSource waits before reconnecting).
         *     Resuming: with `Last-Event-ID` (the `id` of the last notification received), the stream
         *     first sends, oldest first, every stored notification of the caller newer than it (at most
         *     500; the rest are in `GET /v1/notifications`), then the live ones.
         *
         *     One stream per access token: opening a second stream with the same token ends the first,
         *     which receives `event: replaced` and is then closed. The stream ends when the access token
         *     expires: `event: token_expired`, then the server closes it; reconnect with a fresh token
         *     (`POST /v1/auth/refresh`) and `Last-Event-ID`. These two events carry `data: {}` and no
         *     `id:`. When the server shuts down it closes the stream without an event: reconnect the same
         *     way.
         *
         *     Signed-in users only: the access token goes in the `Authorization: Bearer` header (a guest
         *     token is `401 unauthorized`). Browsers: the built-in `EventSource` sends no headers; use a
         *     fetch-based EventSource (e.g. `@microsoft/fetch-event-source`). Errors before the stream
         *     opens are the usual JSON envelope.
         */
        get: operations["streamEvents"];
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
         *     `401 unauthorized` and nothing is upgraded; so is every upgrade while the server shuts
         *     down. A request that is not a WebSocket upgrade is `400` (`details.upgrade`), as is a query
         *     parameter over its length limit. The message protocol (JSON text frames, limits, close
         *     codes) is in `docs/signaling.md` in the repository (see externalDocs), and machine-readable
         *     in `asyncapi.yaml`, served at `GET /v1/asyncapi.json`. Not rate limited.
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
            /** @description What went wrong. */
            error: {
                /**
                 * @description The machine-readable reason (its status is fixed; see docs/api.md, "Errors"); branch on this, not on `message`.
                 * @enum {string}
                 */
                code: "validation_error" | "unauthorized" | "invalid_credentials" | "payment_declined" | "stripe_error" | "stripe_not_connected" | "forbidden" | "not_found" | "link_not_found" | "method_not_allowed" | "conflict" | "call_not_active" | "idempotency_key_reused" | "link_unavailable" | "payload_too_large" | "unsupported_media_type" | "rate_limited" | "internal_error" | "service_unavailable";
                /** @description In the language chosen from Accept-Language. */
                message: string;
                /**
                 * @description `null`, or an object of strings: for `validation_error` each offending field (dotted
                 *     path) mapped to a message; for `conflict` the field concerned; otherwise as the
                 *     code documents (e.g. `reason`, `decline_code`, `stripe_code`).
                 */
                details: {
                    [key: string]: string;
                } | null;
            };
        };
        /** @description The V-app error shape. */
        VappError: {
            /**
             * @description The kind of error: `data:validation` (invalid input, duplicate name, too large),
             *     `auth:*` (credentials or token), `rate:limited`, `request:methodnotallowed`,
             *     `data:notfound`, `server:error` or `server:unavailable`.
             * @enum {string}
             */
            type: "data:validation" | "data:notfound" | "auth:unauthorized" | "auth:missingtoken" | "auth:badtoken" | "auth:missinguserid" | "rate:limited" | "request:methodnotallowed" | "server:error" | "server:unavailable";
            /**
             * @description A short title: `Bad Request` for validation and authentication errors (whatever the
             *     status), otherwise the status's name (`Payload Too Large`, `Too Many Requests`, ...).
             */
            title: string;
            /** @description A fixed sentence for the kind of error, in English. */
            detail: string;
            /**
             * @description Present with `data:validation` only: the offending fields, in the order they are
             *     checked, one entry per field. Empty when a body as a whole is too large.
             */
            invalid_parameters?: {
                /** @description The field (`name`, `password`, `display_name`, `image`). */
                name: string;
                /** @description What is wrong with it, e.g. `must exist`, `must be unique`. */
                reason: string;
            }[];
        };
        /** @description A V-app user; every key is always present. */
        VappUser: {
            /** @description `USR-` and the account's UUID; the same account's v1 id is the ULID of that UUID. */
            id: string;
            /** @description The account's username. */
            name: string;
            /** @description The name shown to other users. */
            display_name: string;
            /**
             * Format: uri
             * @description Absolute URL of the user's picture, or null.
             */
            image_url: string | null;
        };
        /**
         * @description A V-app token: an RS256 JWT valid 1 hour, sent back as `Authorization: Bearer <token>`
         *     (claims: see the `vappToken` security scheme).
         */
        VappToken: string;
        /** @description A signed-in user's session, as answered by `/signup` and `/login`. */
        VappSession: {
            /** @description The signed-in user. */
            user: components["schemas"]["VappUser"];
            /** @description A new V-app token for this user (1 hour). */
            token: components["schemas"]["VappToken"];
            /** @description Every other user with a name, oldest first. */
            users: components["schemas"]["VappUser"][];
        };
        /**
         * @description Checked by the V-app's own rules (see the operation): all three fields are needed, lengths
         *     count Unicode code points, and text with NUL or a lone surrogate is refused. Unknown fields
         *     are ignored.
         */
        VappSignupRequest: {
            /** @description The username, unique (case-sensitively). */
            name?: string;
            /** @description The password. */
            password?: string;
            /** @description The name shown to other users. */
            display_name?: string;
        };
        /**
         * @description A username and password. Both must be present strings (otherwise `data:validation`);
         *     anything else wrong is bad credentials. Unknown fields are ignored.
         */
        VappCredentials: {
            /** @description The account's username (case-sensitive). */
            name?: string;
            /** @description The account's password. */
            password?: string;
        };
        /** @description A multipart body with one file part, `image`. */
        VappImageUpload: {
            /** @description PNG, JPEG, GIF or WebP, at most 5 MiB. */
            image: string;
        };
        /** @description The result of the readiness checks. */
        Readiness: {
            /**
             * @description `ok` (answered with 200) when every check is `ok`, otherwise `unavailable` (503).
             * @enum {unknown}
             */
            status: "ok" | "unavailable";
            /** @description One entry per dependency; `status` is `ok` only when every check is. */
            checks: {
                /**
                 * @description The database answers a query.
                 * @enum {unknown}
                 */
                database: "ok" | "failed";
                /**
                 * @description Present only when `REDIS_URL` is set: Redis answers a PING within 500 ms and this
                 *     instance's subscriber connection is up. While it fails, rate limits are not enforced
                 *     (they fail open) and calls whose participants are on different instances cannot relay.
                 * @enum {unknown}
                 */
                redis?: "ok" | "failed";
                /**
                 * @description `overloaded` while this instance sheds load (its event loop lags, or its heap or memory
                 *     is past the configured limit; README, "Load shedding"): other operations are then
                 *     answered 503 `Overloaded`, so a load balancer should send their traffic elsewhere.
                 * @enum {unknown}
                 */
                load: "ok" | "overloaded";
            } & {
                [key: string]: "ok" | "failed" | "overloaded";
            };
        };
        /** @description A JSON Web Key Set (RFC 7517) of RSA public keys. */
        Jwks: {
            /** @description The current signing key and every retired key whose tokens may still be valid; in Vonage mode, then the Vonage application's key. */
            keys: {
                /**
                 * @description Key type.
                 * @constant
                 */
                kty: "RSA";
                /** @description Key id: the key's RFC 7638 thumbprint (SHA-256, base64url), the `kid` header of the tokens it signed (the Vonage application's tokens have none). */
                kid: string;
                /**
                 * @description The algorithm the key signs with.
                 * @constant
                 */
                alg: "RS256";
                /**
                 * @description Signatures only.
                 * @constant
                 */
                use: "sig";
                /** @description The RSA modulus, base64url. */
                n: string;
                /** @description The RSA public exponent, base64url. */
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
        /** @description A compact JWS (header.payload.signature, base64url), signed RS256; verify with `/.well-known/jwks.json`. */
        Jwt: string;
        /** @description Opaque: `rt_` and 256 random bits (base64url). Stored only as a SHA-256 digest; 30 days. */
        RefreshTokenValue: string;
        /** @description An account as the auth operations show it (the full profile is `GET /v1/users/me`). */
        User: {
            /** @description The account's id (the `sub` of its access tokens). */
            id: components["schemas"]["Id"];
            /** @description As registered (trimmed); `null` for V-app accounts, which have none. */
            email: string | null;
            /** @description The name shown to other users (calls, links). */
            display_name: string;
            /** @description The account's current role. */
            role: components["schemas"]["Role"];
            /** @description Whether the e-mail address has been confirmed (`POST /v1/auth/verify-email`). */
            email_verified: boolean;
            /**
             * Format: date-time
             * @description When the account was created (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
        };
        /** @description An account's profile (the caller's own, or any account for an admin). */
        Profile: {
            /** @description The account's id (the `sub` of its access tokens). */
            id: components["schemas"]["Id"];
            /** @description As registered (trimmed); `null` for V-app accounts, which have none. */
            email: string | null;
            /** @description The V-app `name`, when the account has one; `null` otherwise (accounts registered on v1 until they set one). */
            username: string | null;
            /** @description The name shown to other users (calls, links). */
            display_name: string;
            /** @description Free text about the user (at most 500 characters); `null` when not set. */
            bio: string | null;
            /**
             * Format: uri
             * @description Absolute URL of the picture (the V-app `image_url`), or null.
             */
            avatar_url: string | null;
            /** @description The account's current role (what decides access, whatever the token's `role` claim says). */
            role: components["schemas"]["Role"];
            /** @description Whether the e-mail address has been confirmed. */
            email_verified: boolean;
            /** @description The language the account's e-mails are written in; set from `Accept-Language` at registration. */
            language: components["schemas"]["Language"];
            /** @description Which e-mails the account gets (stored notifications and the live channel are not affected). */
            notification_preferences: components["schemas"]["NotificationPreferences"];
            /**
             * Format: date-time
             * @description When the account was created (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
        };
        /**
         * @description A language e-mails (and error messages) are written in: English, Spanish or French.
         * @enum {string}
         */
        Language: "en" | "es" | "fr";
        /** @description The e-mails an account gets besides those about its account itself (verification, password reset), all on by default. */
        NotificationPreferences: {
            /** @description Hosts: an e-mail when a guest is waiting and no live channel (`GET /v1/events`) of theirs received it within a few seconds, and when a call was missed. */
            email_incoming_call: boolean;
            /** @description A receipt after each paid call (as guest), an earnings summary after each paid call (as host), and the notice when a host never joined (as guest). */
            email_receipts: boolean;
        };
        /** @description A new sign-in (register or login). */
        Session: {
            /** @description The signed-in account. */
            user: components["schemas"]["User"];
            /** @description The access token: send as `Authorization: Bearer` on v1; valid 15 minutes. */
            access_token: components["schemas"]["Jwt"];
            /** @description For `POST /v1/auth/refresh` (new tokens) and `POST /v1/auth/logout`; valid 30 days, single use. */
            refresh_token: components["schemas"]["RefreshTokenValue"];
            /** @description Seconds until the access token expires (900). */
            expires_in: number;
        };
        /** @description The tokens that replace a refresh token. */
        TokenPair: {
            /** @description A new access token (valid 15 minutes) carrying the account's current role. */
            access_token: components["schemas"]["Jwt"];
            /** @description The successor of the refresh token presented (which no longer works); valid 30 days. */
            refresh_token: components["schemas"]["RefreshTokenValue"];
            /** @description Seconds until the access token expires (900). */
            expires_in: number;
        };
        /** @description A new guest and its token. */
        GuestSession: {
            /** @description The guest token: send as `Authorization: Bearer` to initiate and follow calls, save cards and read the payment history; valid 24 hours (GUEST_TOKEN_TTL_SECONDS). */
            guest_token: components["schemas"]["Jwt"];
            /** @description Seconds until the guest token expires. */
            expires_in: number;
            /** @description The guest. */
            guest: {
                /** @description The guest's id (the `sub` of the guest token). */
                id: components["schemas"]["Id"];
                /** @description The name given, or `null` when none was. */
                display_name: string | null;
                /** @description Where receipts go (as given, trimmed), or `null` when no address was given. */
                email: string | null;
            };
        };
        /** @description Where a page stands in its list (see docs/api.md, "Pagination"). */
        Pagination: {
            /** @description Pass as `cursor` for the next page; null on the last page. */
            cursor: string | null;
            /** @description Whether another page follows. */
            has_more: boolean;
            /** @description The page size used (the `limit` asked for, 20 by default). */
            limit: number;
        };
        RegisterRequest: {
            /**
             * @description An e-mail address. Surrounding whitespace is removed first; what remains must be a valid
             *     address (`format: email`) of at most 254 characters (`x-trimmed`), or the answer is
             *     400 `validation_error` with `details.email`. The schema above describes the value as
             *     sent, whitespace included.
             * @example ann@example.com
             */
            email: string;
            /** @description The new account's password, 8 to 256 characters; stored only as an Argon2 hash. */
            password: string;
            /** @description The name shown to others; default: the part of the e-mail before `@`. */
            display_name?: string;
        };
        LoginRequest: {
            /**
             * @description Surrounding whitespace is removed first; what remains (1 to 254 characters, `x-trimmed`)
             *     is compared case-insensitively.
             * @example ann@example.com
             */
            email: string;
            /** @description The account's password. */
            password: string;
        };
        RefreshRequest: {
            /** @description The `refresh_token` of the latest register, login or refresh answer (`rt_…`). */
            refresh_token: string;
        };
        GuestRequest: {
            /** @description The guest's name, shown to hosts (a call's `guest_name` overrides it). */
            display_name?: string;
            /**
             * @description Where the guest's receipts (and the notice of a host who never joined) are sent, in the
             *     language of `Accept-Language`. Optional: without it, the guest sees what was charged in
             *     the call's `call_ended` event and `GET /v1/payments/history` only. Surrounding
             *     whitespace is removed first; what remains must be a valid address of at most 254
             *     characters (`x-trimmed`).
             * @example gina@example.com
             */
            email?: string;
        };
        MailTokenRequest: {
            /** @description The token from the mail. */
            token: string;
        };
        PasswordResetRequest: {
            /**
             * @description An e-mail address. Surrounding whitespace is removed first; what remains must be a valid
             *     address (`format: email`) of at most 254 characters (`x-trimmed`), or the answer is
             *     400 `validation_error` with `details.email`.
             * @example ann@example.com
             */
            email: string;
        };
        PasswordResetConfirm: {
            /** @description The token from the mail. */
            token: string;
            /** @description The new password, 8 to 256 characters. */
            password: string;
        };
        /** @description The confirmation of an account's deletion by who asks for it (the owner, or the admin deleting another's): their password, unless their session began less than 5 minutes ago. */
        AccountDeletion: {
            /** @description The current password of the account that asks (the owner's, or the admin's). */
            password?: string;
        };
        /**
         * @description Everything stored about an account (`GET /v1/users/me/export`), a section per kind of
         *     record, each list complete and newest first. Never a secret: no password hash, no token,
         *     no token hash. Records of other people appear only as they appear to the account already
         *     (a call's other participant's id and name, an admin's id in the audit log).
         */
        AccountExport: {
            /**
             * Format: date-time
             * @description When the document was made (UTC).
             */
            exported_at: string;
            /** @description The account's profile (its picture is `avatar_url`). */
            profile: components["schemas"]["Profile"];
            /** @description Every refresh token issued to the account: one per sign-in, and one per refresh after it. The tokens themselves are never stored (only a digest, not exported). */
            sessions: {
                /** @description The token's record. */
                id: components["schemas"]["Id"];
                /** @description The session (the sign-in) the token descends from; every refresh of a session shares it. */
                session_id: components["schemas"]["Id"];
                /**
                 * Format: date-time
                 * @description When it was issued.
                 */
                created_at: string;
                /**
                 * Format: date-time
                 * @description When it stops working (30 days after issue).
                 */
                expires_at: string;
                /**
                 * Format: date-time
                 * @description When it was exchanged for its successor; null if never.
                 */
                rotated_at: string | null;
                /**
                 * Format: date-time
                 * @description When its session was revoked (logout, reuse, password reset); null if never.
                 */
                revoked_at: string | null;
            }[];
            /** @description Every single-use token mailed to the account (e-mail verification, password reset); the tokens themselves are never stored. */
            mail_tokens: {
                /**
                 * @description What the token was for.
                 * @enum {unknown}
                 */
                purpose: "verify_email" | "password_reset";
                /**
                 * Format: date-time
                 * @description When it was mailed.
                 */
                created_at: string;
                /**
                 * Format: date-time
                 * @description When it stopped or stops working.
                 */
                expires_at: string;
                /**
                 * Format: date-time
                 * @description When it was used (or replaced by a newer one); null if never.
                 */
                used_at: string | null;
            }[];
            /** @description Images the account uploaded with the V-app's `POST /image` (its profile picture is the profile's `avatar_url`). */
            images: {
                /**
                 * Format: uri
                 * @description Where the image is served.
                 */
                url: string;
                /**
                 * Format: date-time
                 * @description When it was uploaded.
                 */
                created_at: string;
            }[];
            /** @description Every call link the account created (deactivated ones included). */
            links: components["schemas"]["CallLink"][];
            /** @description Every call the account took part in. */
            calls: {
                /** @description Calls on the account's links. */
                as_host: components["schemas"]["Call"][];
                /** @description Calls the account made with its access token. */
                as_guest: components["schemas"]["Call"][];
            };
            /** @description The billing windows of those calls (the hold placed on the guest's card for each window, and what became of it), by call, then window. */
            billing_windows: {
                /** @description The call. */
                call_id: components["schemas"]["Id"];
                /** @description The window's number in the call. */
                window: number;
                /** @description The amount held (rate × window length). */
                amount: components["schemas"]["Money"];
                /**
                 * @description What became of the hold.
                 * @enum {unknown}
                 */
                hold_status: "held" | "declined" | "captured" | "released";
                /** @description The amount captured (asked for) of the hold; null before the window was captured. */
                capture_amount: components["schemas"]["Money"] | null;
                /**
                 * Format: date-time
                 * @description When the hold was placed (or declined).
                 */
                created_at: string;
                /**
                 * Format: date-time
                 * @description When the window last changed.
                 */
                updated_at: string;
            }[];
            /** @description The account's payment history, complete: charges (as payer), earnings (as host), refunds and disputes, as `GET /v1/payments/history` shows them. */
            payments: components["schemas"]["PaymentEntry"][];
            /** @description Payouts of the account's connected account to its bank. */
            payouts: components["schemas"]["Payout"][];
            /** @description The account's notifications, read and unread. */
            notifications: components["schemas"]["Notification"][];
            /** @description Guest tokens (`POST /v1/auth/guest`) that gave the account's e-mail for receipts; listed once that address is verified as the account's. */
            guest_sessions: {
                /** @description The guest's id. */
                id: components["schemas"]["Id"];
                /** @description The name the guest gave. */
                display_name: string | null;
                /** @description The receipt address the guest gave. */
                email: string | null;
                /** @description The language of the guest's e-mails. */
                language: components["schemas"]["Language"];
                /**
                 * Format: date-time
                 * @description When the guest token was issued.
                 */
                created_at: string;
                /**
                 * Format: date-time
                 * @description When it stopped or stops working.
                 */
                expires_at: string;
            }[];
            /** @description The account's customer at the payment provider (Stripe), which its saved cards belong to; empty with the simulated provider. */
            payment_customers: {
                /** @description The provider's customer id (`cus_…`). */
                customer_ref: string;
                /**
                 * Format: date-time
                 * @description When it was created.
                 */
                created_at: string;
            }[];
            /** @description The host's connected account at the payment provider (Stripe Connect), or null when there is none. */
            connect_account: null | {
                /** @description The provider's account id (`acct_…`). */
                account_ref: string;
                /**
                 * @description As `GET /v1/payments/connect` reports it, from the state last known.
                 * @enum {unknown}
                 */
                status: "not_started" | "pending" | "enabled" | "restricted";
                /** @description Whether the account could take charges, as last known. */
                charges_enabled: boolean;
                /** @description Whether the provider pays its balance out, as last known. */
                payouts_enabled: boolean;
                /** @description The provider's requirements due, as last known. */
                requirements_due: string[];
                /**
                 * Format: date-time
                 * @description When it was created.
                 */
                created_at: string;
            };
            /** @description Audit-log entries the account made (as an admin) or that are about it. */
            audit_events: components["schemas"]["AuditEntry"][];
        };
        ProfileUpdate: {
            /** @description The name shown to other users. */
            display_name?: string;
            /** @description The V-app `name`; unique, case-sensitive. */
            username?: string;
            /** @description Free text about the user; `null` clears it. */
            bio?: string | null;
            /** @description The language of the account's e-mails. */
            language?: components["schemas"]["Language"];
            /** @description The preferences to change; those not sent stay as they are. */
            notification_preferences?: {
                /** @description E-mails about guests waiting and missed calls (hosts). */
                email_incoming_call?: boolean;
                /** @description Receipts and earnings summaries after paid calls, and the notice of a host who never joined. */
                email_receipts?: boolean;
            };
        };
        RoleChange: {
            /** @description The account's new role (`host` and `admin` need a verified e-mail). */
            role: components["schemas"]["Role"];
        };
        /**
         * @description What an audit entry records: `user.role_changed` (an account's role, by an admin or the
         *     operator's `promote` command), `payment.refunded` (a refund by an admin),
         *     `user.deleted` (an account deleted by its owner, an admin or the operator),
         *     `keys.rotated` (an instance started signing tokens with another key).
         * @enum {string}
         */
        AuditAction: "user.role_changed" | "payment.refunded" | "user.deleted" | "keys.rotated";
        /** @description One entry of the audit log (ids only, never personal data or secrets). */
        AuditEntry: {
            /** @description The entry's id. */
            id: components["schemas"]["Id"];
            /** @description What was done. */
            action: components["schemas"]["AuditAction"];
            /** @description Who acted: an account (`user`, with its id), or `system` (the operator's command line, an instance's start; `id` null). */
            actor: {
                /**
                 * @description `user`: an account; `system`: the operator or the service itself.
                 * @enum {string}
                 */
                kind: "user" | "system";
                /** @description The acting account's id; null for `system`. The account may have been deleted since. */
                id: components["schemas"]["Id"] | null;
            };
            /** @description What was acted on. */
            target: {
                /**
                 * @description An account, a payment (`Payment.id`), or a signing key.
                 * @enum {string}
                 */
                type: "user" | "payment" | "signing_key";
                /** @description The account's or payment's id (a ULID), or the signing key's `kid` (as in `/.well-known/jwks.json`). */
                id: string;
            };
            /**
             * @description What the action changed, by action: `user.role_changed` `{from, to}` (roles);
             *     `payment.refunded` `{refund_id, amount}`; `user.deleted` `{by}` (`self`, `admin` or
             *     `operator`); `keys.rotated` `{kid, previous_kid}`.
             */
            data: {
                /** @description The role before. */
                from: components["schemas"]["Role"];
                /** @description The role after. */
                to: components["schemas"]["Role"];
            } | {
                /** @description The refund (`Refund.id`). */
                refund_id: components["schemas"]["Id"];
                /** @description The amount refunded. */
                amount: components["schemas"]["Money"];
            } | {
                /**
                 * @description Who deleted the account.
                 * @enum {string}
                 */
                by: "self" | "admin" | "operator";
            } | {
                /** @description The key now signing tokens. */
                kid: string;
                /** @description The key the previous start signed with. */
                previous_kid: string;
            };
            /** @description The `X-Request-ID` of the request that made the change; null outside a request (the operator's command line, a start). */
            request_id: string | null;
            /**
             * Format: date-time
             * @description When the change was made (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
        };
        /**
         * @description US dollars with exactly two decimals.
         * @example 2.50
         */
        Money: string;
        /** @description 10 random base62 characters. */
        ShortCode: string;
        /** @description A host's call link (its terms and state), as the host sees it. */
        CallLink: {
            /** @description The link's id (for `GET`, `PATCH` and `DELETE /v1/links/{id}`). */
            id: components["schemas"]["Id"];
            /** @description What guests use to open and call the link (`resolve`, `initiate`). */
            short_code: components["schemas"]["ShortCode"];
            /**
             * Format: uri
             * @description The link to share: `$PUBLIC_URL/c/<short_code>`.
             */
            url: string;
            /** @description The host's account id. */
            host_id: components["schemas"]["Id"];
            /** @description The price per started minute, in USD; a call keeps the rate of the moment it was initiated. */
            rate_per_minute: components["schemas"]["Money"];
            /** @description Minutes per billing window: each window (rate × size) is held on the guest's card before it starts and captured when it ends. */
            window_size_minutes: number;
            /**
             * Format: date-time
             * @description After this instant the link cannot be called (`expired`); `null`: never expires.
             */
            expires_at: string | null;
            /** @description How many calls may be initiated on the link (`uses_exhausted` after); `null`: no limit. */
            max_uses: number | null;
            /** @description How many calls were initiated on the link (declined first holds do not count). */
            use_count: number;
            /** @description The host's name for the link, shown to guests; `null` when none. */
            label: string | null;
            /**
             * Format: date-time
             * @description The link can be called only from this instant (`outside_schedule` before); `null`: no start.
             */
            scheduled_start: string | null;
            /**
             * Format: date-time
             * @description The link can be called only until this instant (`outside_schedule` after); `null`: no end.
             */
            scheduled_end: string | null;
            /** @description False once the host deactivated the link (`DELETE`, or `PATCH` with `is_active: false`). */
            is_active: boolean;
            /**
             * Format: date-time
             * @description When the link was created (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
        };
        /** @description A new link's terms; the optional fields default to no limit (`null`). */
        CreateLinkRequest: {
            /**
             * @description USD per started minute, 0.50–999.99, exactly two decimals.
             * @example 2.50
             */
            rate_per_minute: string;
            /** @description Minutes per billing window (each window is held before it starts). */
            window_size_minutes: number;
            /**
             * Format: date-time
             * @description When the link stops working; `null` or absent: never.
             */
            expires_at?: string | null;
            /** @description How many calls may be initiated on the link; `null` or absent: no limit. */
            max_uses?: number | null;
            /** @description The host's name for the link, shown to guests. */
            label?: string | null;
            /**
             * Format: date-time
             * @description The link can be called only from this instant.
             */
            scheduled_start?: string | null;
            /**
             * Format: date-time
             * @description The link can be called only until this instant; must be after scheduled_start.
             */
            scheduled_end?: string | null;
        };
        /** @description The fields to change (at least one); `null` clears an optional one. Calls already initiated keep their terms. */
        UpdateLinkRequest: {
            /** @description USD per started minute, 0.50–999.99, exactly two decimals. */
            rate_per_minute?: string;
            /** @description Minutes per billing window. */
            window_size_minutes?: number;
            /**
             * Format: date-time
             * @description When the link stops working; `null`: never.
             */
            expires_at?: string | null;
            /** @description How many calls may be initiated on the link in all; `null`: no limit. */
            max_uses?: number | null;
            /** @description The host's name for the link; `null` clears it. */
            label?: string | null;
            /**
             * Format: date-time
             * @description The link can be called only from this instant; `null`: no start.
             */
            scheduled_start?: string | null;
            /**
             * Format: date-time
             * @description The link can be called only until this instant (after `scheduled_start`, sent or current); `null`: no end.
             */
            scheduled_end?: string | null;
            /** @description `false` deactivates the link (as `DELETE` does); `true` re-activates it. */
            is_active?: boolean;
        };
        LinkEnvelope: {
            /** @description The link. */
            link: components["schemas"]["CallLink"];
        };
        LinkPage: {
            /** @description The links of this page, newest first. */
            data: components["schemas"]["CallLink"][];
            /** @description How to ask for the next page. */
            pagination: components["schemas"]["Pagination"];
        };
        /** @description A link as a guest sees it before calling (no host-only fields). */
        LinkResolution: {
            /** @description The link's short code (pass it to `POST /v1/calls/initiate`). */
            short_code: components["schemas"]["ShortCode"];
            /**
             * Format: uri
             * @description `$PUBLIC_URL/c/<short_code>`.
             */
            url: string;
            /** @description The host who is called. */
            host: {
                /** @description The host's account id. */
                id: components["schemas"]["Id"];
                /** @description The host's display name. */
                display_name: string;
                /**
                 * Format: uri
                 * @description Absolute URL of the host's picture, or `null`.
                 */
                avatar_url: string | null;
            };
            /** @description USD per started minute. */
            rate_per_minute: components["schemas"]["Money"];
            /** @description Minutes per billing window: the first window (rate × size) is held on the card at initiate. */
            window_size_minutes: number;
            /** @description The host's name for the link; `null` when none. */
            label: string | null;
            /**
             * Format: date-time
             * @description The link can be called only from this instant; `null`: no start.
             */
            scheduled_start: string | null;
            /**
             * Format: date-time
             * @description The link can be called only until this instant; `null`: no end.
             */
            scheduled_end: string | null;
            /** @description Whether the link can be called now. */
            available: boolean;
            /**
             * @description Why the link cannot be called now (what initiate would answer as `410 link_unavailable` `details.reason`); `null` when `available`.
             * @enum {string|null}
             */
            unavailable_reason: "inactive" | "expired" | "uses_exhausted" | "outside_schedule" | "payments_disabled" | null;
        };
        InitiateCallRequest: {
            /** @description The short code of the link to call. */
            short_code: components["schemas"]["ShortCode"];
            /**
             * @description A payment method. With Stripe, the `payment_method` of a SetupIntent confirmed on the
             *     client (`POST /v1/payments/setup-intent` or `/v1/payments/guest/setup-intent`). The
             *     simulated provider knows `pm_card_visa`, `pm_card_mastercard`
             *     (authorise), `pm_card_chargeDeclined`, `pm_card_insufficientFunds` (decline) and
             *     `pm_card_declineAfterFirstHold` (authorises window 1, declines every later window).
             */
            payment_method_id: string;
            /** @description Shown to the host (default: the guest's or user's display name). */
            guest_name?: string;
            /**
             * @description Only when retrying after a first hold that needed 3-D Secure (`402 payment_declined`,
             *     `decline_code` `authentication_required`): the `details.payment_intent_id` of that answer,
             *     once the client has authenticated it with Stripe.js. Sent with a new `X-Idempotency-Key`;
             *     the authenticated PaymentIntent becomes window 1's hold.
             * @example pi_3QbX2cLkdIwHu7ix1HiJkLmN
             */
            payment_intent_id?: string;
        };
        /**
         * @description `pending` (hold being placed) → `waiting` (host not there) → `active` (both connected,
         *     billing) → `ending` → `completed`; `cancelled` before it became active; `failed` after a
         *     billing error (a declined next hold: `end_reason` `billing_failed`; a capture the engine
         *     is still retrying).
         * @enum {string}
         */
        CallStatus: "pending" | "waiting" | "active" | "ending" | "completed" | "cancelled" | "failed";
        /** @description A call between a link's host and a guest, with its billing so far. */
        Call: {
            /** @description The call's id (for join, signaling-token, end and `GET /v1/calls/{id}`). */
            id: components["schemas"]["Id"];
            /** @description Where the call stands. */
            status: components["schemas"]["CallStatus"];
            /** @description The short code of the link the call was made on. */
            short_code: components["schemas"]["ShortCode"];
            /** @description The id of the link the call was made on. */
            link_id: components["schemas"]["Id"];
            /** @description The host (the link's owner). */
            host: {
                /** @description The host's account id. */
                id: components["schemas"]["Id"];
                /** @description The host's display name. */
                display_name: string;
            };
            /** @description The caller who initiated the call (a guest, or an account). */
            guest: {
                /** @description The guest's id, or the account's id when an access token initiated the call. */
                id: components["schemas"]["Id"];
                /** @description The name shown to the host: the `guest_name` given at initiate, else the guest's or account's display name. */
                display_name: string;
            };
            /** @description USD per started minute, copied from the link at initiate. */
            rate_per_minute: components["schemas"]["Money"];
            /** @description Minutes per billing window, copied from the link at initiate. */
            window_size_minutes: number;
            /**
             * Format: date-time
             * @description When the call was initiated (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When both peers were first connected (the call turned `active`; billing starts here); `null` until then.
             */
            started_at: string | null;
            /**
             * Format: date-time
             * @description `null` while the call runs. Billing stops here: for `connection_lost`, when the peer dropped; for `billing_failed`, at the end of the last window paid for, even when a participant hung up later. Never before the end of a window already captured in full (a drop recorded late).
             */
            ended_at: string | null;
            /** @description Whole seconds from `started_at` to `ended_at`; `null` until the call has both (never for a call that did not start). */
            duration_seconds: number | null;
            /** @description The sum of the captures so far, in USD (`0.00` before the first capture); final once the call is `completed`. */
            amount_charged: components["schemas"]["Money"];
            /**
             * @description Why the call ended. `billing_failed`: the next window's hold failed; both participants
             *     were sent `billing {status: "hold_failed"}` before the boundary, and the call ended at
             *     `held_until`, the end of the last paid window (see docs/signaling.md).
             * @enum {string|null}
             */
            end_reason: "guest_ended" | "host_ended" | "guest_cancelled" | "host_declined" | "host_no_show" | "connection_lost" | "billing_failed" | "link_unavailable" | "payment_declined" | null;
            /**
             * Format: date-time
             * @description When the host was first told that the guest is waiting: a live stream of theirs
             *     (`GET /v1/events`) received the `call_incoming` notification, or, when none did within
             *     5 seconds, the incoming-call e-mail was queued (unless the host turned it off). A
             *     `waiting` call with it set has rung; null while the host has not been told (they may
             *     still find the call by listing `?status=waiting`). See docs/notifications.md.
             */
            notified_at: string | null;
        };
        /** @description coturn "use-auth-secret" credentials; `username` = `<unix expiry>:<call id>`, `credential` = base64(HMAC-SHA1(TURN_SECRET, username)). */
        TurnCredentials: {
            /** @description The TURN server URLs (`turn:` / `turns:`, from TURN_URLS) for the RTCPeerConnection's `iceServers`; empty when none is configured. */
            urls: string[];
            /** @description `<unix expiry>:<call id>`; the credentials stop working at the expiry (TURN_TTL_SECONDS after issue, 1 hour by default). */
            username: string;
            /** @description base64(HMAC-SHA1(TURN_SECRET, username)): the password for `username`. */
            credential: string;
        };
        /** @description Opaque `st_…`, single use, 5 minutes, bound to one call and one participant; for `/ws?token=`. */
        SignalingToken: string;
        /** @description A call and what one participant needs to connect to it. */
        CallSession: {
            /** @description The call. */
            call: components["schemas"]["Call"];
            /** @description The caller's token for `GET /ws?token=` (the guest's from initiate, the host's from join): single use, 5 minutes; ask `POST /v1/calls/{id}/signaling-token` for another. */
            signaling_token: components["schemas"]["SignalingToken"];
            /** @description TURN credentials for the call's WebRTC connection. */
            turn_credentials: components["schemas"]["TurnCredentials"];
        };
        CallEnvelope: {
            /** @description The call. */
            call: components["schemas"]["Call"];
        };
        CallPage: {
            /** @description The calls of this page, newest first. */
            data: components["schemas"]["Call"][];
            /** @description How to ask for the next page. */
            pagination: components["schemas"]["Pagination"];
        };
        /**
         * @description One entry of the payment history (see `GET /v1/payments/history`).
         * @example {
         *       "id": "01JDB3A8E2G4J6M8Q0S2V4X6Z8",
         *       "type": "refund",
         *       "payment_id": "01JD4RM0FE72CXM0TV6H6BGDXF",
         *       "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *       "window": 1,
         *       "amount": "10.00",
         *       "fee": "0.70",
         *       "net": "9.30",
         *       "status": "succeeded",
         *       "currency": "usd",
         *       "created_at": "2024-11-22T23:29:02.914Z"
         *     }
         */
        PaymentEntry: {
            /** @description The entry's id: the payment's for `charge` and `earning`, the refund's or the dispute's otherwise. */
            id: components["schemas"]["Id"];
            /**
             * @description What the entry records (see `GET /v1/payments/history`).
             * @enum {unknown}
             */
            type: "charge" | "earning" | "refund" | "dispute";
            /** @description The captured payment the entry is about: the entry's own `id` for `charge` and `earning`, the payment refunded or disputed for `refund` and `dispute`. */
            payment_id: components["schemas"]["Id"];
            /** @description The call the payment was captured for. */
            call_id: components["schemas"]["Id"];
            /** @description The billing window of the payment. */
            window: number;
            /** @description The amount captured (`charge`, `earning`), refunded (`refund`) or disputed (`dispute`). */
            amount: components["schemas"]["Money"];
            /** @description The platform fee (`earning`), the platform fee refunded (a host's `refund`); null otherwise. */
            fee: components["schemas"]["Money"] | null;
            /** @description What the host earns (`earning`), the host's transfer reversed (a host's `refund`); null otherwise. */
            net: components["schemas"]["Money"] | null;
            /**
             * @description Null for `charge` and `earning`; the refund's status for `refund` (`pending`,
             *     `succeeded`, `failed`, `canceled`, `requires_action`); the dispute's status for
             *     `dispute` (`warning_needs_response`, `warning_under_review`, `warning_closed`,
             *     `needs_response`, `under_review`, `won`, `lost`, ...).
             */
            status: string | null;
            /**
             * @description The currency of the amounts (lower-case ISO 4217; always `usd`).
             * @constant
             */
            currency: "usd";
            /**
             * Format: date-time
             * @description When the payment was captured, the refund made or the dispute opened (UTC).
             */
            created_at: string;
        };
        PaymentPage: {
            /** @description The entries of this page, newest first. */
            data: components["schemas"]["PaymentEntry"][];
            /** @description How to ask for the next page. */
            pagination: components["schemas"]["Pagination"];
        };
        /**
         * @description A card-saving session to confirm on the client (Stripe.js).
         * @example {
         *       "client_secret": "seti_1QbX2cLkdIwHu7ixQ0a1B2c3_secret_RkT4u5V6w7X8y9Z0aBcDeFgHiJkLmNo",
         *       "publishable_key": "pk_test_51QbX2cLkdIwHu7ixAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
         *       "provider": "stripe",
         *       "test_payment_methods": null
         *     }
         */
        SetupIntent: {
            /** @description The SetupIntent's client secret for `stripe.confirmSetup` / `stripe.confirmCardSetup` (simulated provider: a simulated secret). */
            client_secret: string;
            /** @description The Stripe publishable key to initialise Stripe.js with. */
            publishable_key: string;
            /**
             * @description The payments provider in use.
             * @enum {unknown}
             */
            provider: "stripe" | "simulated";
            /** @description Simulated provider: the test payment methods initiate accepts; null with Stripe. */
            test_payment_methods: string[] | null;
        };
        /**
         * @description The host's Stripe Connect (Express) account status.
         * @example {
         *       "status": "enabled",
         *       "charges_enabled": true,
         *       "payouts_enabled": true,
         *       "requirements_due": []
         *     }
         */
        ConnectStatus: {
            /**
             * @description `not_started`: no connected account yet; `pending`: onboarding not finished (details
             *     not submitted); `enabled`: charges enabled; `restricted`: details submitted but charges
             *     disabled (requirements due or past due).
             * @enum {unknown}
             */
            status: "not_started" | "pending" | "enabled" | "restricted";
            /** @description Whether the account can take charges (the host's links can be called only while it can). */
            charges_enabled: boolean;
            /** @description Whether Stripe pays the account's balance out to the host's bank. */
            payouts_enabled: boolean;
            /** @description Stripe's currently-due and past-due requirements (empty when none). */
            requirements_due: string[];
        };
        /**
         * @example {
         *       "url": "https://connect.stripe.com/setup/e/acct_1QbX2cLkdIwHu7ix/kT4u5V6w7X8y"
         *     }
         */
        ConnectLink: {
            /**
             * Format: uri
             * @description A single-use Stripe link; open it in the host's browser.
             */
            url: string;
        };
        /**
         * @description A host's earnings in one currency (see `GET /v1/payments/earnings`).
         * @example {
         *       "currency": "usd",
         *       "gross": "72.00",
         *       "fee": "5.04",
         *       "net": "66.96",
         *       "refunded": "0.00",
         *       "disputed": "0.00",
         *       "pending": "66.96",
         *       "available": "0.00"
         *     }
         */
        EarningsBalance: {
            /**
             * @description The currency of the amounts (lower-case ISO 4217).
             * @constant
             */
            currency: "usd";
            /** @description The sum of the host's captures. */
            gross: components["schemas"]["Money"];
            /** @description The platform fees kept (7 % per capture, minus the fees given back with refunds). */
            fee: components["schemas"]["Money"];
            /** @description What the host earned after refunds: `gross − fee − refunded`. */
            net: components["schemas"]["Money"];
            /** @description The amount refunded to guests. */
            refunded: components["schemas"]["Money"];
            /** @description The amount in open or lost disputes. */
            disputed: components["schemas"]["Money"];
            /** @description The connected account's balance not yet available for payout (as the provider reports it). */
            pending: components["schemas"]["Money"];
            /** @description The connected account's balance available for payout (as the provider reports it). */
            available: components["schemas"]["Money"];
        };
        /**
         * @example {
         *       "earnings": []
         *     }
         */
        Earnings: {
            /** @description One entry per currency; empty when nothing was earned. */
            earnings: components["schemas"]["EarningsBalance"][];
        };
        /**
         * @description A payout of the host's connected account to their bank, as the provider reported it.
         * @example {
         *       "id": "01JDB2W4C7H9K1M3P5R7T9V1XZ",
         *       "amount": "29.76",
         *       "currency": "usd",
         *       "status": "failed",
         *       "arrival_at": "2024-11-25T00:00:00.000Z",
         *       "failure_code": "account_closed",
         *       "created_at": "2024-11-22T23:21:20.007Z"
         *     }
         */
        Payout: {
            /** @description The payout's id in this service (not Stripe's `po_…`). */
            id: components["schemas"]["Id"];
            /** @description The amount paid out. */
            amount: components["schemas"]["Money"];
            /** @description Lower-case ISO 4217 code (`usd`). */
            currency: string;
            /**
             * @description The payout's latest state as the provider reported it.
             * @enum {unknown}
             */
            status: "pending" | "in_transit" | "paid" | "failed" | "canceled";
            /**
             * Format: date-time
             * @description When the payout is expected in (or arrived at) the bank.
             */
            arrival_at: string | null;
            /** @description Stripe's failure code when `status` is `failed` (e.g. `account_closed`). */
            failure_code: string | null;
            /**
             * Format: date-time
             * @description When the service first learnt of the payout (UTC).
             */
            created_at: string;
        };
        PayoutPage: {
            /** @description The payouts of this page, newest first. */
            data: components["schemas"]["Payout"][];
            /** @description How to ask for the next page. */
            pagination: components["schemas"]["Pagination"];
        };
        /**
         * @description A Stripe Event object (only the fields below are read; the rest is accepted as sent).
         * @example {
         *       "id": "evt_1QbX2cLkdIwHu7ixPq3RsTuV",
         *       "object": "event",
         *       "type": "account.updated",
         *       "data": {
         *         "object": {
         *           "id": "acct_1QbX2cLkdIwHu7ix",
         *           "object": "account",
         *           "charges_enabled": true,
         *           "payouts_enabled": true
         *         }
         *       }
         *     }
         */
        StripeEvent: {
            /** @description The event's id (`evt_…`); each event is processed once. */
            id?: string;
            /** @description The event type, e.g. `payment_intent.succeeded`. */
            type?: string;
            /** @description The event's payload. */
            data?: {
                /** @description The Stripe object the event is about (a PaymentIntent, Charge, Dispute, Account or Payout). */
                object?: Record<string, never>;
            } & {
                [key: string]: unknown;
            };
        } & {
            [key: string]: unknown;
        };
        /**
         * @example {
         *       "received": true,
         *       "duplicate": true
         *     }
         */
        WebhookReceipt: {
            /**
             * @description Always true; the event is stored and will not be processed again.
             * @constant
             */
            received: true;
            /** @description True when the event had already been processed (nothing was done again). */
            duplicate: boolean;
        };
        /**
         * @example {
         *       "reason": "duplicate"
         *     }
         */
        RefundRequest: {
            /** @description More than 0.00 and at most what is left to refund of the payment; omitted, everything not yet refunded. */
            amount?: components["schemas"]["Money"];
            /**
             * @description Why the payment is refunded (passed to the provider as the refund's reason).
             * @enum {unknown}
             */
            reason: "requested_by_customer" | "duplicate" | "fraudulent";
        };
        /**
         * @description The refund's status at the payment provider.
         * @enum {unknown}
         */
        RefundStatus: "pending" | "succeeded" | "failed" | "canceled" | "requires_action";
        /**
         * @example {
         *       "id": "01JDB3A8E2G4J6M8Q0S2V4X6Z8",
         *       "payment_id": "01JD4RM0FE72CXM0TV6H6BGDXF",
         *       "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *       "amount": "30.00",
         *       "fee_refunded": "2.10",
         *       "transfer_reversed": "27.90",
         *       "reason": "duplicate",
         *       "status": "succeeded",
         *       "created_at": "2024-11-22T23:29:02.914Z"
         *     }
         */
        Refund: {
            /** @description The refund's id (the `id` of its `refund` history entries). */
            id: components["schemas"]["Id"];
            /** @description The payment refunded (the path's `id`). */
            payment_id: components["schemas"]["Id"];
            /** @description The call the payment was captured for. */
            call_id: components["schemas"]["Id"];
            /** @description The amount given back to the guest. */
            amount: components["schemas"]["Money"];
            /** @description The part of the platform fee given back (in proportion to `amount`, rounded half up to the cent). */
            fee_refunded: components["schemas"]["Money"];
            /** @description The part taken back from the host's transfer (`amount` − `fee_refunded`). */
            transfer_reversed: components["schemas"]["Money"];
            /**
             * @description The reason given with the refund.
             * @enum {unknown}
             */
            reason: "requested_by_customer" | "duplicate" | "fraudulent";
            /** @description The refund's status at the provider when it answered. */
            status: components["schemas"]["RefundStatus"];
            /**
             * Format: date-time
             * @description When the refund was made (UTC).
             */
            created_at: string;
        };
        RefundEnvelope: {
            /** @description The refund. */
            refund: components["schemas"]["Refund"];
        };
        /**
         * @description Why a call ended (the call's `end_reason`).
         * @enum {string}
         */
        EndReason: "guest_ended" | "host_ended" | "guest_cancelled" | "host_declined" | "host_no_show" | "connection_lost" | "billing_failed" | "link_unavailable" | "payment_declined";
        /**
         * @description A notification addressed to one user: its `type` decides the fields of `data`; clients
         *     should ignore types they do not know (new ones may be added). Stored
         *     notifications are listed by `GET /v1/notifications` and delivered live on
         *     `GET /v1/events`. E-mails go out for some of them, by the user's
         *     `notification_preferences` (docs/notifications.md).
         */
        Notification: components["schemas"]["CallIncomingNotification"] | components["schemas"]["CallMissedNotification"] | components["schemas"]["CallCancelledNotification"] | components["schemas"]["CallEndedNotification"] | components["schemas"]["PaymentCapturedNotification"] | components["schemas"]["EarningRecordedNotification"] | components["schemas"]["PaymentFailedNotification"] | components["schemas"]["RefundIssuedNotification"] | components["schemas"]["PayoutPaidNotification"] | components["schemas"]["PayoutFailedNotification"];
        /**
         * @description `call_incoming`: To the host, as the guest initiates: a guest is waiting on one of their links (join with `POST /v1/calls/{id}/join`).
         * @example {
         *       "id": "01JD4R0BWJ8T3QK5V7XN2M9PRD",
         *       "type": "call_incoming",
         *       "data": {
         *         "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *         "short_code": "Xk3P9qRt2Z",
         *         "guest_display_name": "Gina",
         *         "rate_per_minute": "3.00",
         *         "window_size_minutes": 10
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        CallIncomingNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "call_incoming";
            /** @description The details. */
            data: components["schemas"]["CallIncomingData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `call_incoming` notification.
         * @example {
         *       "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *       "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *       "short_code": "Xk3P9qRt2Z",
         *       "guest_display_name": "Gina",
         *       "rate_per_minute": "3.00",
         *       "window_size_minutes": 10
         *     }
         */
        CallIncomingData: {
            /** @description The call's id (for `GET /v1/calls/{id}`). */
            call_id: components["schemas"]["Id"];
            /** @description The id of the call link the guest used. */
            link_id: components["schemas"]["Id"];
            /** @description The link's short code. */
            short_code: components["schemas"]["ShortCode"];
            /** @description The name the guest gave. */
            guest_display_name: string;
            /** @description The call's rate (the link's at initiate). */
            rate_per_minute: components["schemas"]["Money"];
            /** @description The call's billing window, in minutes. */
            window_size_minutes: number;
        };
        /**
         * @description `call_missed`: To the host: they never joined within 5 minutes, and the call was cancelled (`host_no_show`); nothing was charged.
         * @example {
         *       "id": "01JD7QTEN1R6BC9V3YF0D2XKMA",
         *       "type": "call_missed",
         *       "data": {
         *         "call_id": "01JD7QH9N28VA7SJSX8RXF3X3Y",
         *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *         "short_code": "Xk3P9qRt2Z",
         *         "guest_display_name": "Marco"
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        CallMissedNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "call_missed";
            /** @description The details. */
            data: components["schemas"]["CallMissedData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `call_missed` notification.
         * @example {
         *       "call_id": "01JD7QH9N28VA7SJSX8RXF3X3Y",
         *       "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *       "short_code": "Xk3P9qRt2Z",
         *       "guest_display_name": "Marco"
         *     }
         */
        CallMissedData: {
            /** @description The call's id (for `GET /v1/calls/{id}`). */
            call_id: components["schemas"]["Id"];
            /** @description The id of the call link the guest used. */
            link_id: components["schemas"]["Id"];
            /** @description The link's short code. */
            short_code: components["schemas"]["ShortCode"];
            /** @description The name the guest gave. */
            guest_display_name: string;
        };
        /**
         * @description `call_cancelled`: To a guest with an account: the host never joined, and the call was cancelled; nothing was charged and the hold was released.
         * @example {
         *       "id": "01JD7QTEN1R6BC9V3YF0D2XKMB",
         *       "type": "call_cancelled",
         *       "data": {
         *         "call_id": "01JD7QH9N28VA7SJSX8RXF3X3Y",
         *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *         "short_code": "Xk3P9qRt2Z",
         *         "host_display_name": "Hana Ito",
         *         "end_reason": "host_no_show"
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        CallCancelledNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "call_cancelled";
            /** @description The details. */
            data: components["schemas"]["CallCancelledData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `call_cancelled` notification.
         * @example {
         *       "call_id": "01JD7QH9N28VA7SJSX8RXF3X3Y",
         *       "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *       "short_code": "Xk3P9qRt2Z",
         *       "host_display_name": "Hana Ito",
         *       "end_reason": "host_no_show"
         *     }
         */
        CallCancelledData: {
            /** @description The call's id (for `GET /v1/calls/{id}`). */
            call_id: components["schemas"]["Id"];
            /** @description The id of the call link the guest used. */
            link_id: components["schemas"]["Id"];
            /** @description The link's short code. */
            short_code: components["schemas"]["ShortCode"];
            /** @description The host's display name. */
            host_display_name: string;
            /** @description Why the call ended (as the call's `end_reason`). */
            end_reason: components["schemas"]["EndReason"];
        };
        /**
         * @description `call_ended`: Once a call is settled: to the host of a call they were told of, and to a guest with an account whose call started. How it ended and what it cost.
         * @example {
         *       "id": "01JD4R3ZQ5X8M2K7V9N1T4W6YC",
         *       "type": "call_ended",
         *       "data": {
         *         "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *         "short_code": "Xk3P9qRt2Z",
         *         "end_reason": "guest_ended",
         *         "started_at": "2024-11-20T12:16:40.118Z",
         *         "ended_at": "2024-11-20T12:29:10.118Z",
         *         "billed_minutes": 13,
         *         "amount_charged": "39.00"
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        CallEndedNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "call_ended";
            /** @description The details. */
            data: components["schemas"]["CallEndedData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `call_ended` notification.
         * @example {
         *       "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *       "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *       "short_code": "Xk3P9qRt2Z",
         *       "end_reason": "guest_ended",
         *       "started_at": "2024-11-20T12:16:40.118Z",
         *       "ended_at": "2024-11-20T12:29:10.118Z",
         *       "billed_minutes": 13,
         *       "amount_charged": "39.00"
         *     }
         */
        CallEndedData: {
            /** @description The call's id (for `GET /v1/calls/{id}`). */
            call_id: components["schemas"]["Id"];
            /** @description The id of the call link the guest used. */
            link_id: components["schemas"]["Id"];
            /** @description The link's short code. */
            short_code: components["schemas"]["ShortCode"];
            /** @description Why the call ended (as the call's `end_reason`). */
            end_reason: components["schemas"]["EndReason"];
            /**
             * Format: date-time
             * @description When both were first connected; `null` if the call never started.
             */
            started_at: string | null;
            /**
             * Format: date-time
             * @description When the call ended (use stopped there).
             */
            ended_at: string | null;
            /** @description Minutes charged: each started minute of each window. */
            billed_minutes: number;
            /** @description What the guest paid for the call (the sum of its captures). */
            amount_charged: components["schemas"]["Money"];
        };
        /**
         * @description `payment_captured`: To a guest with an account, after a paid call: the receipt (the same amounts as the receipt e-mail and `GET /v1/payments/history`).
         * @example {
         *       "id": "01JD4R3ZQ5X8M2K7V9N1T4W6YD",
         *       "type": "payment_captured",
         *       "data": {
         *         "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *         "short_code": "Xk3P9qRt2Z",
         *         "host_display_name": "Hana Ito",
         *         "billed_minutes": 13,
         *         "windows": 2,
         *         "rate_per_minute": "3.00",
         *         "amount": "39.00"
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        PaymentCapturedNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "payment_captured";
            /** @description The details. */
            data: components["schemas"]["PaymentCapturedData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `payment_captured` notification.
         * @example {
         *       "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *       "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *       "short_code": "Xk3P9qRt2Z",
         *       "host_display_name": "Hana Ito",
         *       "billed_minutes": 13,
         *       "windows": 2,
         *       "rate_per_minute": "3.00",
         *       "amount": "39.00"
         *     }
         */
        PaymentCapturedData: {
            /** @description The call's id (for `GET /v1/calls/{id}`). */
            call_id: components["schemas"]["Id"];
            /** @description The id of the call link the guest used. */
            link_id: components["schemas"]["Id"];
            /** @description The link's short code. */
            short_code: components["schemas"]["ShortCode"];
            /** @description The host's display name. */
            host_display_name: string;
            /** @description Minutes charged: each started minute of each window. */
            billed_minutes: number;
            /** @description Billing windows captured. */
            windows: number;
            /** @description The call's rate. */
            rate_per_minute: components["schemas"]["Money"];
            /** @description The total charged. */
            amount: components["schemas"]["Money"];
        };
        /**
         * @description `earning_recorded`: To the host, after a paid call: what the guest paid, the platform fee and the host's part.
         * @example {
         *       "id": "01JD4R3ZQ5X8M2K7V9N1T4W6YE",
         *       "type": "earning_recorded",
         *       "data": {
         *         "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *         "short_code": "Xk3P9qRt2Z",
         *         "guest_display_name": "Gina",
         *         "billed_minutes": 13,
         *         "gross_amount": "39.00",
         *         "fee_amount": "2.73",
         *         "net_amount": "36.27"
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        EarningRecordedNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "earning_recorded";
            /** @description The details. */
            data: components["schemas"]["EarningRecordedData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `earning_recorded` notification.
         * @example {
         *       "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *       "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *       "short_code": "Xk3P9qRt2Z",
         *       "guest_display_name": "Gina",
         *       "billed_minutes": 13,
         *       "gross_amount": "39.00",
         *       "fee_amount": "2.73",
         *       "net_amount": "36.27"
         *     }
         */
        EarningRecordedData: {
            /** @description The call's id (for `GET /v1/calls/{id}`). */
            call_id: components["schemas"]["Id"];
            /** @description The id of the call link the guest used. */
            link_id: components["schemas"]["Id"];
            /** @description The link's short code. */
            short_code: components["schemas"]["ShortCode"];
            /** @description The name the guest gave. */
            guest_display_name: string;
            /** @description Minutes charged: each started minute of each window. */
            billed_minutes: number;
            /** @description What the guest paid. */
            gross_amount: components["schemas"]["Money"];
            /** @description The platform fee (7 % of each capture, rounded half up). */
            fee_amount: components["schemas"]["Money"];
            /** @description The host's part (`gross_amount` - `fee_amount`). */
            net_amount: components["schemas"]["Money"];
        };
        /**
         * @description `payment_failed`: To a guest with an account: a hold on the card failed during the call, which ended at the end of the last paid window (`billing_failed`).
         * @example {
         *       "id": "01JD4R3ZQ5X8M2K7V9N1T4W6YF",
         *       "type": "payment_failed",
         *       "data": {
         *         "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *         "short_code": "Xk3P9qRt2Z",
         *         "end_reason": "billing_failed",
         *         "amount_charged": "30.00"
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        PaymentFailedNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "payment_failed";
            /** @description The details. */
            data: components["schemas"]["PaymentFailedData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `payment_failed` notification.
         * @example {
         *       "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *       "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
         *       "short_code": "Xk3P9qRt2Z",
         *       "end_reason": "billing_failed",
         *       "amount_charged": "30.00"
         *     }
         */
        PaymentFailedData: {
            /** @description The call's id (for `GET /v1/calls/{id}`). */
            call_id: components["schemas"]["Id"];
            /** @description The id of the call link the guest used. */
            link_id: components["schemas"]["Id"];
            /** @description The link's short code. */
            short_code: components["schemas"]["ShortCode"];
            /** @description Why the call ended (as the call's `end_reason`). */
            end_reason: components["schemas"]["EndReason"];
            /** @description What was charged for the windows that were paid. */
            amount_charged: components["schemas"]["Money"];
        };
        /**
         * @description `refund_issued`: To a guest with an account: a payment of theirs was refunded (in full or in part), here or at the provider.
         * @example {
         *       "id": "01JDB1RVKX0Q8Y6Z4M2N7P5T3X",
         *       "type": "refund_issued",
         *       "data": {
         *         "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *         "refund_id": "01JDB1RVKX0Q8Y6Z4M2N7P5T3W",
         *         "amount": "10.00",
         *         "reason": "requested_by_customer",
         *         "status": "succeeded"
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        RefundIssuedNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "refund_issued";
            /** @description The details. */
            data: components["schemas"]["RefundIssuedData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `refund_issued` notification.
         * @example {
         *       "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
         *       "refund_id": "01JDB1RVKX0Q8Y6Z4M2N7P5T3W",
         *       "amount": "10.00",
         *       "reason": "requested_by_customer",
         *       "status": "succeeded"
         *     }
         */
        RefundIssuedData: {
            /** @description The call the payment was for. */
            call_id: components["schemas"]["Id"];
            /** @description The refund's id (as in `GET /v1/payments/history`). */
            refund_id: components["schemas"]["Id"];
            /** @description The amount given back. */
            amount: components["schemas"]["Money"];
            /**
             * @description The reason given with the refund.
             * @enum {unknown}
             */
            reason: "requested_by_customer" | "duplicate" | "fraudulent";
            /** @description The refund's status when it was recorded. */
            status: components["schemas"]["RefundStatus"];
        };
        /**
         * @description `payout_paid`: To the host: a payout reached (or is expected at) their bank.
         * @example {
         *       "id": "01JDB2W4C7H9K1M3P5R7T9V1Y0",
         *       "type": "payout_paid",
         *       "data": {
         *         "payout_id": "01JDB2W4C7H9K1M3P5R7T9V1XZ",
         *         "amount": "29.76",
         *         "currency": "usd",
         *         "arrival_at": "2024-11-25T00:00:00.000Z",
         *         "failure_code": null
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        PayoutPaidNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "payout_paid";
            /** @description The details. */
            data: components["schemas"]["PayoutPaidData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `payout_paid` notification.
         * @example {
         *       "payout_id": "01JDB2W4C7H9K1M3P5R7T9V1XZ",
         *       "amount": "29.76",
         *       "currency": "usd",
         *       "arrival_at": "2024-11-25T00:00:00.000Z",
         *       "failure_code": null
         *     }
         */
        PayoutPaidData: {
            /** @description The payout's id (as in `GET /v1/connect/payouts`). */
            payout_id: components["schemas"]["Id"];
            /** @description The amount paid out. */
            amount: components["schemas"]["Money"];
            /** @description Lower-case ISO 4217 code (`usd`). */
            currency: string;
            /**
             * Format: date-time
             * @description When the payout is expected in (or arrived at) the bank.
             */
            arrival_at: string | null;
            /** @description The provider's failure code (`payout_failed`), else `null`. */
            failure_code: string | null;
        };
        /**
         * @description `payout_failed`: To the host: a payout failed; the provider returns the money to their balance.
         * @example {
         *       "id": "01JDB2W4C7H9K1M3P5R7T9V1Y1",
         *       "type": "payout_failed",
         *       "data": {
         *         "payout_id": "01JDB2W4C7H9K1M3P5R7T9V1XZ",
         *         "amount": "29.76",
         *         "currency": "usd",
         *         "arrival_at": "2024-11-25T00:00:00.000Z",
         *         "failure_code": "account_closed"
         *       },
         *       "created_at": "2024-11-20T12:29:10.942Z",
         *       "read_at": null
         *     }
         */
        PayoutFailedNotification: {
            /** @description The notification's id (time-ordered; the `id:` of its event on `GET /v1/events`, and what `Last-Event-ID` takes). */
            id: components["schemas"]["Id"];
            /**
             * @description What the notification is about. (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            type: "payout_failed";
            /** @description The details. */
            data: components["schemas"]["PayoutFailedData"];
            /**
             * Format: date-time
             * @description When the notification was stored and sent (UTC, ISO 8601 with milliseconds).
             */
            created_at: string;
            /**
             * Format: date-time
             * @description When the user first marked it read; `null` while unread.
             */
            read_at: string | null;
        };
        /**
         * @description The details of a `payout_failed` notification.
         * @example {
         *       "payout_id": "01JDB2W4C7H9K1M3P5R7T9V1XZ",
         *       "amount": "29.76",
         *       "currency": "usd",
         *       "arrival_at": "2024-11-25T00:00:00.000Z",
         *       "failure_code": "account_closed"
         *     }
         */
        PayoutFailedData: {
            /** @description The payout's id (as in `GET /v1/connect/payouts`). */
            payout_id: components["schemas"]["Id"];
            /** @description The amount paid out. */
            amount: components["schemas"]["Money"];
            /** @description Lower-case ISO 4217 code (`usd`). */
            currency: string;
            /**
             * Format: date-time
             * @description When the payout is expected in (or arrived at) the bank.
             */
            arrival_at: string | null;
            /** @description The provider's failure code (`payout_failed`), else `null`. */
            failure_code: string | null;
        };
        NotificationPage: {
            /** @description The notifications of this page, newest first. */
            data: components["schemas"]["Notification"][];
            /** @description How to ask for the next page. */
            pagination: components["schemas"]["Pagination"];
        };
        /**
         * @example {
         *       "count": 3
         *     }
         */
        UnreadCount: {
            /** @description How many of the caller's notifications are unread (`read_at` null). */
            count: number;
        };
    };
    responses: {
        /**
         * @description Validation failed (`type` `data:validation`): `invalid_parameters` lists every offending
         *     field, in the order `name`, `password`, `display_name`, each with its first failure.
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
         * @description Bad credentials or an account that no longer exists (`auth:unauthorized`, the same body for
         *     an unknown name, a wrong password and a deleted account's token); `data:validation` for
         *     credentials that are missing or not strings (`/login`, `/token`) or an invalid image
         *     (uploads: not PNG, JPEG, GIF or WebP, undecodable, over 40 megapixels, missing or not the
         *     only file part).
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
        /**
         * @description The body is over 1 MiB, or has too many parts (`invalid_parameters` empty), or the image is
         *     over MAX_IMAGE_BYTES, 5 MiB by default (`invalid_parameters` names `image`).
         */
        VappTooLarge: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description A path of the V-app's that nothing serves, such as the original server's `/conversations` (`type` `data:notfound`, status 404). */
        VappNotFound: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "data:notfound",
                 *       "title": "Not Found",
                 *       "detail": "The requested resource does not exist"
                 *     }
                 */
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
                /**
                 * @example {
                 *       "type": "request:methodnotallowed",
                 *       "title": "Method Not Allowed",
                 *       "detail": "The request failed because the method is not allowed on this resource"
                 *     }
                 */
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description Too many requests (`type` `rate:limited`); try again after `Retry-After` seconds. */
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
                /**
                 * @example {
                 *       "type": "rate:limited",
                 *       "title": "Too Many Requests",
                 *       "detail": "The request failed because too many requests were made; try again later"
                 *     }
                 */
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
                /**
                 * @example {
                 *       "type": "server:error",
                 *       "title": "Internal Server Error",
                 *       "detail": "The request failed due to an unexpected error"
                 *     }
                 */
                "application/json": components["schemas"]["VappError"];
            };
        };
        /**
         * @description The instance is overloaded (`type` `server:unavailable`): its event loop, heap or memory is
         *     past the limits it is configured with, so it refuses work before it falls behind. Nothing was
         *     done; try again after `Retry-After` seconds (another instance may answer at once).
         */
        VappOverloaded: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "Retry-After": components["headers"]["Retry-After"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "server:unavailable",
                 *       "title": "Service Unavailable",
                 *       "detail": "The service is temporarily unavailable"
                 *     }
                 */
                "application/json": components["schemas"]["VappError"];
            };
        };
        /** @description The media store cannot be reached or failed (`type` `server:unavailable`; nothing was stored), or the instance is overloaded (as `VappOverloaded`). Try again after `Retry-After` seconds. */
        VappStorageUnavailable: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "Retry-After": components["headers"]["Retry-After"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "type": "server:unavailable",
                 *       "title": "Service Unavailable",
                 *       "detail": "The service is temporarily unavailable"
                 *     }
                 */
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
                /**
                 * @example {
                 *       "image_url": "http://localhost:3000/media/01943b72-5d18-7b6f-8e2a-4c9d1f3b7a05.png"
                 *     }
                 */
                "application/json": {
                    /**
                     * Format: uri
                     * @description Absolute URL of the stored (re-encoded) image, fetchable without authentication; its extension is the image's format.
                     */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "not_found",
                 *         "message": "The resource does not exist.",
                 *         "details": null
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "method_not_allowed",
                 *         "message": "This method is not allowed on this resource.",
                 *         "details": null
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "unauthorized",
                 *         "message": "Authentication is required or the token is invalid.",
                 *         "details": null
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "forbidden",
                 *         "message": "You do not have permission to do this.",
                 *         "details": null
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "conflict",
                 *         "message": "The resource already exists or was changed.",
                 *         "details": {
                 *           "username": "must be unique"
                 *         }
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "payload_too_large",
                 *         "message": "The request body is too large.",
                 *         "details": null
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "unsupported_media_type",
                 *         "message": "The request content type is not supported.",
                 *         "details": null
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "rate_limited",
                 *         "message": "Too many requests. Try again later.",
                 *         "details": null
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "internal_error",
                 *         "message": "An unexpected error occurred.",
                 *         "details": null
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description `service_unavailable` with `details.reason` `overloaded`: the instance's event loop, heap or
         *     memory is past the limits it is configured with (README, "Load shedding"), so it refuses work
         *     before it falls behind. Nothing was done; try again after `Retry-After` seconds.
         */
        Overloaded: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "Retry-After": components["headers"]["Retry-After"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": {
                 *         "code": "service_unavailable",
                 *         "message": "The service is temporarily unavailable.",
                 *         "details": {
                 *           "reason": "overloaded"
                 *         }
                 *       }
                 *     }
                 */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "link_not_found",
                 *         "message": "The call link does not exist.",
                 *         "details": null
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description `link_unavailable`: `details.reason` is `inactive`, `expired`, `uses_exhausted`, `outside_schedule` or `payments_disabled` (the host's account cannot take charges now). */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "link_unavailable",
                 *         "message": "The call link cannot be used now.",
                 *         "details": {
                 *           "reason": "uses_exhausted"
                 *         }
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description `payment_declined`: the hold was declined; `details.decline_code` says why (e.g.
         *     `generic_decline`, `insufficient_funds`, `authentication_required`). For
         *     `authentication_required` (the card needs 3-D Secure) `details.client_secret` and
         *     `details.payment_intent_id` are the PaymentIntent to authenticate with Stripe.js before
         *     retrying with `payment_intent_id`. Or `stripe_error`: the payment provider refused the
         *     request for another reason (`details.stripe_code`; see StripeError).
         */
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
                /**
                 * @example {
                 *       "error": {
                 *         "code": "call_not_active",
                 *         "message": "The call is not active.",
                 *         "details": {
                 *           "status": "completed"
                 *         }
                 *       }
                 *     }
                 */
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
        /**
         * @description `service_unavailable` with `details.reason` `storage_unavailable`: the media store (S3)
         *     cannot be reached or failed (an upload stored nothing); or `overloaded`, as `Overloaded`
         *     describes. Try again after `Retry-After` seconds.
         */
        StorageUnavailable: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                "Retry-After": components["headers"]["Retry-After"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": {
                 *         "code": "service_unavailable",
                 *         "message": "The service is temporarily unavailable.",
                 *         "details": {
                 *           "reason": "storage_unavailable"
                 *         }
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description `service_unavailable`: `details.reason` `storage_unavailable` (the media store, where the
         *     account's pictures are removed, cannot be reached or failed) or `payments_unavailable`
         *     (the payment provider, where the account's customer and saved cards are deleted, cannot be
         *     reached, failed or is rate-limiting the service); or `overloaded`, as `Overloaded`
         *     describes. The account is not deleted (what was removed stays removed); try again after
         *     `Retry-After` seconds.
         */
        DeletionUnavailable: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                "Retry-After": components["headers"]["Retry-After"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description `service_unavailable` with `details.reason` `payments_unavailable`: the payment provider
         *     cannot be reached, failed, or is rate-limiting the service; or `overloaded`, as `Overloaded`
         *     describes. Try again after `Retry-After` seconds.
         */
        PaymentsUnavailable: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                "Retry-After": components["headers"]["Retry-After"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": {
                 *         "code": "service_unavailable",
                 *         "message": "The service is temporarily unavailable.",
                 *         "details": {
                 *           "reason": "payments_unavailable"
                 *         }
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description `stripe_error`: the payment provider refused the request; `details.stripe_code` is Stripe's
         *     error code (Stripe's own message is not passed on: it may name other accounts).
         */
        StripeError: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": {
                 *         "code": "stripe_error",
                 *         "message": "The payment operation failed.",
                 *         "details": {
                 *           "stripe_code": "resource_missing"
                 *         }
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["Error"];
            };
        };
        /**
         * @description `stripe_not_connected`: with the `stripe` provider, the host has not finished Stripe Connect
         *     onboarding (charges not enabled); see `GET /v1/payments/connect`.
         */
        StripeNotConnected: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
                "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                "Content-Language": components["headers"]["Content-Language"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": {
                 *         "code": "stripe_not_connected",
                 *         "message": "The host has not finished setting up payouts.",
                 *         "details": null
                 *       }
                 *     }
                 */
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
        /**
         * @description A UUID, required; see the operation for the replay rules. A request that failed with a 5xx,
         *     or whose server died, does not hold its key: its claim is released, or lapses within about
         *     10 s, and a retry with the same key and body then runs again.
         */
        IdempotencyKeyRequired: string;
        /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
        CallId: components["schemas"]["Id"];
        /** @description The notification's `id` (from `GET /v1/notifications` or the `id:` of a `GET /v1/events` event). */
        NotificationId: components["schemas"]["Id"];
    };
    requestBodies: never;
    headers: {
        /**
         * @description The page's own policy: scripts, styles and connections (the API, the signaling socket) from this origin only, nothing inline; pictures also from `PUBLIC_URL` and `S3_PUBLIC_URL`; with the `stripe` provider, Stripe.js and its frames (docs/web.md).
         * @example default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https://calls.example.org; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'
         */
        PageContentSecurityPolicy: string;
        /** @description `no-store`: the page shows what the link is now (its availability changes). */
        NoStore: "no-store";
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
        /**
         * @description The validator of the caller's user list (weak): it changes whenever the list does and
         *     differs per caller. Sent back in `If-None-Match`, it is answered `304` while the list is unchanged.
         */
        VappUsersETag: string;
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
                /**
                 * @example {
                 *       "name": "paul",
                 *       "password": "correct horse",
                 *       "display_name": "Paul"
                 *     }
                 */
                "application/json": components["schemas"]["VappSignupRequest"];
            };
        };
        responses: {
            /** @description Account created; the session of the new user. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "USR-01943b6e-8c2f-7d4a-9b1e-5f3c2a7d8e90",
                     *         "name": "paul",
                     *         "display_name": "Paul",
                     *         "image_url": null
                     *       },
                     *       "token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InlySGl6bGlxc2ZNcnBnWkxzNkI2WXJhaDAtZXlWbnZmM3ppbFlQcWdJeGMifQ.eyJzdWIiOiJwYXVsIiwidXNlcl9pZCI6IlVTUi0wMTk0M2I2ZS04YzJmLTdkNGEtOWIxZS01ZjNjMmE3ZDhlOTAiLCJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJhdWQiOiJ2aWRpdm86dmFwcCIsImlhdCI6MTc2NzI2MTYwMCwiZXhwIjoxNzY3MjY1MjAwLCJqdGkiOiI2ZjFjMmI5ZS00ZDNhLTRlOGItOWM3ZC0yYTFiMGU1ZjRjM2QifQ.onMJyUcBYpXnzdRjMqL4BD8lF1o83aFOlzQgf4pqfJII60E5-onVGxxAo6DnjGio0q3mOiz1OsfJ9D8qcmd7df9FRwZuMxRcHDuDNQUByxAj4f4LiI_xVW-apbeBJtMk_m3C_1F1LqoUfCYQV3KxCWYeyUVlRt1c8LN6b3gloTXZkVyXuCCbYt_uSAlMeplgb-ObrowFOyZQEzYGP7Mi2OPQFJykROe06L4fEf3iTWFkKTbr5JPB1dx0nzaaSf5u9alwDYCnkgW6YFs_0ZOXhHIl2w14MUEH9m-_eWO07bzVCfZ6Oehyo_I8W9kGpc6FrVNhxXKj5scxVWP1_Pf3vg",
                     *       "users": [
                     *         {
                     *           "id": "USR-01943b5d-2e41-7c0a-8f3b-6d2e1a9c4b70",
                     *           "name": "arden",
                     *           "display_name": "Arden",
                     *           "image_url": "http://localhost:3000/media/01943b5f-0a7c-7e12-b4d9-3c8e5f1a2d64.jpg"
                     *         },
                     *         {
                     *           "id": "USR-01943b61-7f80-7a3e-a1c5-9e4d2b8f6c13",
                     *           "name": "carla",
                     *           "display_name": "Carla",
                     *           "image_url": null
                     *         }
                     *       ]
                     *     }
                     */
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
                    /**
                     * @example {
                     *       "type": "data:validation",
                     *       "title": "Bad Request",
                     *       "detail": "The request failed due to validation errors",
                     *       "invalid_parameters": [
                     *         {
                     *           "name": "name",
                     *           "reason": "must be unique"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            413: components["responses"]["VappTooLarge"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
            /**
             * @description The instance is overloaded (as `VappOverloaded`), or, in Vonage mode, the Vonage Users
             *     API could not be reached or failed and no user was made for this signup (docs/vapp.md,
             *     "Vonage mode"). Nothing was made; try again after `Retry-After` seconds.
             */
            503: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "Retry-After": components["headers"]["Retry-After"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "server:unavailable",
                     *       "title": "Service Unavailable",
                     *       "detail": "The service is temporarily unavailable"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
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
                /**
                 * @example {
                 *       "name": "paul",
                 *       "password": "correct horse"
                 *     }
                 */
                "application/json": components["schemas"]["VappCredentials"];
            };
        };
        responses: {
            /** @description Signed in; the user's session. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "USR-01943b6e-8c2f-7d4a-9b1e-5f3c2a7d8e90",
                     *         "name": "paul",
                     *         "display_name": "Paul",
                     *         "image_url": "http://localhost:3000/media/01943b72-5d18-7b6f-8e2a-4c9d1f3b7a05.png"
                     *       },
                     *       "token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InlySGl6bGlxc2ZNcnBnWkxzNkI2WXJhaDAtZXlWbnZmM3ppbFlQcWdJeGMifQ.eyJzdWIiOiJwYXVsIiwidXNlcl9pZCI6IlVTUi0wMTk0M2I2ZS04YzJmLTdkNGEtOWIxZS01ZjNjMmE3ZDhlOTAiLCJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJhdWQiOiJ2aWRpdm86dmFwcCIsImlhdCI6MTc2NzI2MTYwMCwiZXhwIjoxNzY3MjY1MjAwLCJqdGkiOiI2ZjFjMmI5ZS00ZDNhLTRlOGItOWM3ZC0yYTFiMGU1ZjRjM2QifQ.onMJyUcBYpXnzdRjMqL4BD8lF1o83aFOlzQgf4pqfJII60E5-onVGxxAo6DnjGio0q3mOiz1OsfJ9D8qcmd7df9FRwZuMxRcHDuDNQUByxAj4f4LiI_xVW-apbeBJtMk_m3C_1F1LqoUfCYQV3KxCWYeyUVlRt1c8LN6b3gloTXZkVyXuCCbYt_uSAlMeplgb-ObrowFOyZQEzYGP7Mi2OPQFJykROe06L4fEf3iTWFkKTbr5JPB1dx0nzaaSf5u9alwDYCnkgW6YFs_0ZOXhHIl2w14MUEH9m-_eWO07bzVCfZ6Oehyo_I8W9kGpc6FrVNhxXKj5scxVWP1_Pf3vg",
                     *       "users": [
                     *         {
                     *           "id": "USR-01943b5d-2e41-7c0a-8f3b-6d2e1a9c4b70",
                     *           "name": "arden",
                     *           "display_name": "Arden",
                     *           "image_url": "http://localhost:3000/media/01943b5f-0a7c-7e12-b4d9-3c8e5f1a2d64.jpg"
                     *         },
                     *         {
                     *           "id": "USR-01943b61-7f80-7a3e-a1c5-9e4d2b8f6c13",
                     *           "name": "carla",
                     *           "display_name": "Carla",
                     *           "image_url": null
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["VappSession"];
                };
            };
            403: components["responses"]["VappForbidden"];
            413: components["responses"]["VappTooLarge"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
            503: components["responses"]["VappOverloaded"];
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
                /**
                 * @example {
                 *       "name": "paul",
                 *       "password": "correct horse"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InlySGl6bGlxc2ZNcnBnWkxzNkI2WXJhaDAtZXlWbnZmM3ppbFlQcWdJeGMifQ.eyJzdWIiOiJwYXVsIiwidXNlcl9pZCI6IlVTUi0wMTk0M2I2ZS04YzJmLTdkNGEtOWIxZS01ZjNjMmE3ZDhlOTAiLCJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJhdWQiOiJ2aWRpdm86dmFwcCIsImlhdCI6MTc2NzI2MTYwMCwiZXhwIjoxNzY3MjY1MjAwLCJqdGkiOiI2ZjFjMmI5ZS00ZDNhLTRlOGItOWM3ZC0yYTFiMGU1ZjRjM2QifQ.onMJyUcBYpXnzdRjMqL4BD8lF1o83aFOlzQgf4pqfJII60E5-onVGxxAo6DnjGio0q3mOiz1OsfJ9D8qcmd7df9FRwZuMxRcHDuDNQUByxAj4f4LiI_xVW-apbeBJtMk_m3C_1F1LqoUfCYQV3KxCWYeyUVlRt1c8LN6b3gloTXZkVyXuCCbYt_uSAlMeplgb-ObrowFOyZQEzYGP7Mi2OPQFJykROe06L4fEf3iTWFkKTbr5JPB1dx0nzaaSf5u9alwDYCnkgW6YFs_0ZOXhHIl2w14MUEH9m-_eWO07bzVCfZ6Oehyo_I8W9kGpc6FrVNhxXKj5scxVWP1_Pf3vg"
                     *     }
                     */
                    "application/json": {
                        token: components["schemas"]["VappToken"];
                    };
                };
            };
            403: components["responses"]["VappForbidden"];
            413: components["responses"]["VappTooLarge"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
            503: components["responses"]["VappOverloaded"];
        };
    };
    vappListUsers: {
        parameters: {
            query?: never;
            header?: {
                /** @description The `ETag` of the list the client holds (or `*`); `304` while it is current. */
                "If-None-Match"?: string;
            };
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
                    ETag: components["headers"]["VappUsersETag"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example [
                     *       {
                     *         "id": "USR-01943b5d-2e41-7c0a-8f3b-6d2e1a9c4b70",
                     *         "name": "arden",
                     *         "display_name": "Arden",
                     *         "image_url": "http://localhost:3000/media/01943b5f-0a7c-7e12-b4d9-3c8e5f1a2d64.jpg"
                     *       },
                     *       {
                     *         "id": "USR-01943b61-7f80-7a3e-a1c5-9e4d2b8f6c13",
                     *         "name": "carla",
                     *         "display_name": "Carla",
                     *         "image_url": null
                     *       }
                     *     ]
                     */
                    "application/json": components["schemas"]["VappUser"][];
                };
            };
            /** @description The list named by `If-None-Match` is still the current one; no body. */
            304: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    ETag: components["headers"]["VappUsersETag"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["VappBadToken"];
            403: components["responses"]["VappForbidden"];
            429: components["responses"]["VappRateLimited"];
            500: components["responses"]["VappInternal"];
            503: components["responses"]["VappOverloaded"];
        };
    };
    vappSetUserImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * @description A `multipart/form-data` body with exactly one file part, named `image` (its file name and
         *     declared content type do not matter; the bytes decide). Text fields are ignored (at most
         *     16; at most 20 parts in all, otherwise 413). A missing `image` part, `image` sent as a text
         *     field, or a body that is not multipart is 403 `must exist`; a second file part, whatever
         *     its name, is 403 `must be a single file`; a malformed multipart body is 403.
         */
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
            503: components["responses"]["VappStorageUnavailable"];
        };
    };
    vappUploadImage: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * @description A `multipart/form-data` body with exactly one file part, named `image` (its file name and
         *     declared content type do not matter; the bytes decide). Text fields are ignored (at most
         *     16; at most 20 parts in all, otherwise 413). A missing `image` part, `image` sent as a text
         *     field, or a body that is not multipart is 403 `must exist`; a second file part, whatever
         *     its name, is 403 `must be a single file`; a malformed multipart body is 403.
         */
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
            503: components["responses"]["VappStorageUnavailable"];
        };
    };
    vappVoiceAnswer: {
        parameters: {
            query?: {
                /**
                 * @description The user called: the `to` of the Client SDK's server call, or the number dialled for a
                 *     call that comes from a phone.
                 * @example arden
                 */
                to?: string;
                /**
                 * @description Every other parameter Vonage sends (`from`, `from_user`, `uuid`, `conversation_uuid`,
                 *     `region_url`, `custom_data`, SIP headers ...), each a query parameter of its own;
                 *     accepted and ignored.
                 * @example {
                 *       "from_user": "paul",
                 *       "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356",
                 *       "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
                 *     }
                 */
                vonage?: {
                    [key: string]: unknown;
                };
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The NCCO Vonage runs for the call. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": ({
                        /**
                         * @description `talk`.
                         * @constant
                         */
                        action: "talk";
                        /** @description What is said. */
                        text: string;
                    } | {
                        /**
                         * @description `connect`.
                         * @constant
                         */
                        action: "connect";
                        /** @description The one endpoint called. */
                        endpoint: {
                            /**
                             * @description `app`: a user of the Vonage application.
                             * @constant
                             */
                            type: "app";
                            /** @description The user's name (the V-app `name`). */
                            user: string;
                        }[];
                    })[];
                };
            };
            /**
             * @description `VONAGE_SIGNATURE_SECRET` is set and the request is not signed by Vonage (`type`
             *     `auth:unauthorized`, status 401). A signed webhook carries `Authorization: Bearer <JWT>`,
             *     the token Vonage signs each delivery with, and is accepted when:
             *
             *     * the header's `alg` is `HS256` (no other algorithm is accepted) and the signature is
             *       the secret's;
             *     * `iss` is `Vonage`;
             *     * `iat` (seconds) is within 5 minutes of the server's time, either way, and `exp`, when
             *       present, has not passed;
             *     * `application_id`, when present and `VONAGE_APPLICATION_ID` is set, is that application;
             *     * on a POST, `payload_hash` is the lowercase hex SHA-256 of the body exactly as sent. A
             *       GET has no body and its query is not covered: its `payload_hash` is not checked.
             *
             *     Otherwise nothing is done, and a body is not read when the token itself is refused. A
             *     token is not refused for having been seen before (Vonage retries deliveries; these
             *     operations are safe to repeat). Without the secret the webhooks are open, as the
             *     original server's were.
             */
            401: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "auth:unauthorized",
                     *       "title": "Unauthorized",
                     *       "detail": "The request failed due to a missing or invalid webhook signature"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            /** @description `to` is sent more than once (`data:validation`, `invalid_parameters` names `to`). */
            403: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "data:validation",
                     *       "title": "Bad Request",
                     *       "detail": "The request failed due to validation errors",
                     *       "invalid_parameters": [
                     *         {
                     *           "name": "to",
                     *           "reason": "must be a string"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            /** @description `data:notfound`: neither a Vonage application (`VONAGE_APPLICATION_ID`) nor `VONAGE_SIGNATURE_SECRET` is configured, so the webhooks are not served: the path is answered as an unknown one of the V-app's. */
            404: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "data:notfound",
                     *       "title": "Not Found",
                     *       "detail": "The requested resource does not exist"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            500: components["responses"]["VappInternal"];
            503: components["responses"]["VappOverloaded"];
        };
    };
    vappVoiceAnswerPost: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "to": "arden",
                 *       "from_user": "paul",
                 *       "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356",
                 *       "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"
                 *     }
                 */
                "application/json": {
                    /** @description The user called, as the GET's `to`. */
                    to?: string | null;
                } & {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description The NCCO Vonage runs for the call. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": ({
                        /**
                         * @description `talk`.
                         * @constant
                         */
                        action: "talk";
                        /** @description What is said. */
                        text: string;
                    } | {
                        /**
                         * @description `connect`.
                         * @constant
                         */
                        action: "connect";
                        /** @description The one endpoint called. */
                        endpoint: {
                            /**
                             * @description `app`: a user of the Vonage application.
                             * @constant
                             */
                            type: "app";
                            /** @description The user's name (the V-app `name`). */
                            user: string;
                        }[];
                    })[];
                };
            };
            /**
             * @description `VONAGE_SIGNATURE_SECRET` is set and the request is not signed by Vonage (`type`
             *     `auth:unauthorized`, status 401). A signed webhook carries `Authorization: Bearer <JWT>`,
             *     the token Vonage signs each delivery with, and is accepted when:
             *
             *     * the header's `alg` is `HS256` (no other algorithm is accepted) and the signature is
             *       the secret's;
             *     * `iss` is `Vonage`;
             *     * `iat` (seconds) is within 5 minutes of the server's time, either way, and `exp`, when
             *       present, has not passed;
             *     * `application_id`, when present and `VONAGE_APPLICATION_ID` is set, is that application;
             *     * on a POST, `payload_hash` is the lowercase hex SHA-256 of the body exactly as sent. A
             *       GET has no body and its query is not covered: its `payload_hash` is not checked.
             *
             *     Otherwise nothing is done, and a body is not read when the token itself is refused. A
             *     token is not refused for having been seen before (Vonage retries deliveries; these
             *     operations are safe to repeat). Without the secret the webhooks are open, as the
             *     original server's were.
             */
            401: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "auth:unauthorized",
                     *       "title": "Unauthorized",
                     *       "detail": "The request failed due to a missing or invalid webhook signature"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            /** @description `to` is not a string (`data:validation`, `invalid_parameters` names `to`). */
            403: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "data:validation",
                     *       "title": "Bad Request",
                     *       "detail": "The request failed due to validation errors",
                     *       "invalid_parameters": [
                     *         {
                     *           "name": "to",
                     *           "reason": "must be a string"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            /** @description `data:notfound`: neither a Vonage application (`VONAGE_APPLICATION_ID`) nor `VONAGE_SIGNATURE_SECRET` is configured, so the webhooks are not served: the path is answered as an unknown one of the V-app's. */
            404: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "data:notfound",
                     *       "title": "Not Found",
                     *       "detail": "The requested resource does not exist"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            413: components["responses"]["VappTooLarge"];
            500: components["responses"]["VappInternal"];
            503: components["responses"]["VappOverloaded"];
        };
    };
    vappVoiceEvents: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "status": "answered",
                 *       "uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356",
                 *       "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
                 *       "direction": "inbound",
                 *       "timestamp": "2026-01-01T12:00:00.000Z"
                 *     }
                 */
                "application/json": {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description Acknowledged (the plain text `OK`). */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example OK */
                    "text/plain": "OK";
                };
            };
            /**
             * @description `VONAGE_SIGNATURE_SECRET` is set and the request is not signed by Vonage (`type`
             *     `auth:unauthorized`, status 401). A signed webhook carries `Authorization: Bearer <JWT>`,
             *     the token Vonage signs each delivery with, and is accepted when:
             *
             *     * the header's `alg` is `HS256` (no other algorithm is accepted) and the signature is
             *       the secret's;
             *     * `iss` is `Vonage`;
             *     * `iat` (seconds) is within 5 minutes of the server's time, either way, and `exp`, when
             *       present, has not passed;
             *     * `application_id`, when present and `VONAGE_APPLICATION_ID` is set, is that application;
             *     * on a POST, `payload_hash` is the lowercase hex SHA-256 of the body exactly as sent. A
             *       GET has no body and its query is not covered: its `payload_hash` is not checked.
             *
             *     Otherwise nothing is done, and a body is not read when the token itself is refused. A
             *     token is not refused for having been seen before (Vonage retries deliveries; these
             *     operations are safe to repeat). Without the secret the webhooks are open, as the
             *     original server's were.
             */
            401: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "auth:unauthorized",
                     *       "title": "Unauthorized",
                     *       "detail": "The request failed due to a missing or invalid webhook signature"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            /** @description `data:notfound`: neither a Vonage application (`VONAGE_APPLICATION_ID`) nor `VONAGE_SIGNATURE_SECRET` is configured, so the webhooks are not served: the path is answered as an unknown one of the V-app's. */
            404: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "data:notfound",
                     *       "title": "Not Found",
                     *       "detail": "The requested resource does not exist"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            413: components["responses"]["VappTooLarge"];
            500: components["responses"]["VappInternal"];
            503: components["responses"]["VappOverloaded"];
        };
    };
    vappRtcEvents: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "type": "member:joined",
                 *       "id": 4,
                 *       "conversation_id": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22",
                 *       "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
                 *       "timestamp": "2026-01-01T12:00:00.000Z",
                 *       "body": {
                 *         "user": {
                 *           "name": "arden"
                 *         }
                 *       }
                 *     }
                 */
                "application/json": {
                    [key: string]: unknown;
                };
            };
        };
        responses: {
            /** @description Acknowledged (the plain text `OK`). */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example OK */
                    "text/plain": "OK";
                };
            };
            /**
             * @description `VONAGE_SIGNATURE_SECRET` is set and the request is not signed by Vonage (`type`
             *     `auth:unauthorized`, status 401). A signed webhook carries `Authorization: Bearer <JWT>`,
             *     the token Vonage signs each delivery with, and is accepted when:
             *
             *     * the header's `alg` is `HS256` (no other algorithm is accepted) and the signature is
             *       the secret's;
             *     * `iss` is `Vonage`;
             *     * `iat` (seconds) is within 5 minutes of the server's time, either way, and `exp`, when
             *       present, has not passed;
             *     * `application_id`, when present and `VONAGE_APPLICATION_ID` is set, is that application;
             *     * on a POST, `payload_hash` is the lowercase hex SHA-256 of the body exactly as sent. A
             *       GET has no body and its query is not covered: its `payload_hash` is not checked.
             *
             *     Otherwise nothing is done, and a body is not read when the token itself is refused. A
             *     token is not refused for having been seen before (Vonage retries deliveries; these
             *     operations are safe to repeat). Without the secret the webhooks are open, as the
             *     original server's were.
             */
            401: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "auth:unauthorized",
                     *       "title": "Unauthorized",
                     *       "detail": "The request failed due to a missing or invalid webhook signature"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            /** @description `data:notfound`: neither a Vonage application (`VONAGE_APPLICATION_ID`) nor `VONAGE_SIGNATURE_SECRET` is configured, so the webhooks are not served: the path is answered as an unknown one of the V-app's. */
            404: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "data:notfound",
                     *       "title": "Not Found",
                     *       "detail": "The requested resource does not exist"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            413: components["responses"]["VappTooLarge"];
            500: components["responses"]["VappInternal"];
            503: components["responses"]["VappOverloaded"];
        };
    };
    vappMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Metrics are not served on this port (`data:notfound`). */
            404: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "data:notfound",
                     *       "title": "Not Found",
                     *       "detail": "Metrics are served on the metrics port (METRICS_PORT), at /metrics"
                     *     }
                     */
                    "application/json": components["schemas"]["VappError"];
                };
            };
            503: components["responses"]["VappOverloaded"];
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
                    /**
                     * @example {
                     *       "status": "ok"
                     *     }
                     */
                    "application/json": {
                        /**
                         * @description Always `ok`.
                         * @constant
                         */
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
            /** @description A dependency is unreachable (the database, or Redis when `REDIS_URL` is set), or the instance is overloaded. */
            503: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "unavailable",
                     *       "checks": {
                     *         "database": "ok",
                     *         "redis": "failed",
                     *         "load": "ok"
                     *       }
                     *     }
                     */
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
                    /** @example OK */
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
                    /** @description `public, max-age=300`: shared caches may keep the response for 5 minutes. */
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "keys": [
                     *         {
                     *           "kty": "RSA",
                     *           "n": "uQ_gsTy8JeMcWA0U7OIhHg56OnNQ3vBdjZFHJuSs4vakxLUVGZKuTEmujABATgwmm-XgIh2nH0gbJp0uNaUnVrfjunczIQ-lf8trKsmldwpIxLwKG3Xbjhz2UddGWbTyLS8Z2FeQKKTY-NZei1UGKIdyf2hv54_2YYbAGZweaeTkauZQnsAT7Qmj1rlwc424zPUrdfaFYNocTXWicnd5dlkPfqzMgPF86W_buVgayrTQ6kMeNX2H0e_Z4aW5azJYN5d0JeiJtDksHpcgom93u7H9cNd5JGjx0Qt9BpEnXRcM-ZeMoiSIJ6Gqu7RBiBdXJ7eKBDtaxKUjRtvqVSB2NQ",
                     *           "e": "AQAB",
                     *           "kid": "yrHizliqsfMrpgZLs6B6Yrah0-eyVnvf3zilYPqgIxc",
                     *           "alg": "RS256",
                     *           "use": "sig"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["Jwks"];
                };
            };
            503: components["responses"]["Overloaded"];
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
                    /** @description `public, max-age=300`: shared caches may keep the response for 5 minutes. */
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "openapi": "3.1.0",
                     *       "info": {
                     *         "title": "Vidivo API",
                     *         "version": "1.0.0"
                     *       },
                     *       "servers": [
                     *         {
                     *           "url": "https://api.example.org",
                     *           "description": "This deployment (PUBLIC_URL)"
                     *         }
                     *       ],
                     *       "paths": {
                     *         "/v1/auth/login": {
                     *           "post": {
                     *             "operationId": "loginUser",
                     *             "summary": "Start a session with e-mail and password"
                     *           }
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": {
                        /** @description The OpenAPI version (3.1.x). */
                        openapi: string;
                        /** @description Title, version and the conventions shared by every operation. */
                        info: Record<string, never>;
                        /** @description This deployment's base URL (PUBLIC_URL). */
                        servers?: unknown[];
                        /** @description Every operation of both surfaces. */
                        paths: Record<string, never>;
                    };
                };
            };
            503: components["responses"]["Overloaded"];
        };
    };
    getAsyncApiDocument: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The AsyncAPI 3.0 document. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    /** @description `public, max-age=300`: shared caches may keep the response for 5 minutes. */
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "asyncapi": "3.0.0",
                     *       "info": {
                     *         "title": "Vidivo signaling",
                     *         "version": "1.0.0"
                     *       },
                     *       "servers": {
                     *         "deployment": {
                     *           "host": "api.example.org",
                     *           "protocol": "wss",
                     *           "description": "This deployment (PUBLIC_URL)."
                     *         }
                     *       },
                     *       "channels": {
                     *         "signaling": {
                     *           "address": "/ws"
                     *         }
                     *       },
                     *       "operations": {
                     *         "receiveNegotiation": {
                     *           "action": "receive"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": {
                        /** @description The AsyncAPI version (3.0.x). */
                        asyncapi: string;
                        /** @description Title, version and the rules every frame follows. */
                        info: Record<string, never>;
                        /** @description This deployment's WebSocket host and path (from PUBLIC_URL). */
                        servers: Record<string, never>;
                        /** @description The signaling channel (`/ws`), its query parameters and close codes. */
                        channels: Record<string, never>;
                        /** @description What the server receives (client → server) and sends (server → client). */
                        operations: Record<string, never>;
                    };
                };
            };
            503: components["responses"]["Overloaded"];
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
            /** @description The documentation page (HTML). */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example <!doctype html><html lang="en"><head><title>Swagger UI</title>…</head><body><div id="swagger-ui"></div>…</body></html> */
                    "text/html": string;
                };
            };
            /** @description Redirect to the documentation page; `Location` says where. No body. */
            302: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    /** @description The documentation page's URL. */
                    Location: string;
                    [name: string]: unknown;
                };
                content?: never;
            };
            503: components["responses"]["Overloaded"];
        };
    };
    getMedia: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The stored object's key, the last segment of its URL — a UUID and the image's extension.
                 * @example 01943b5f-0a7c-7e12-b4d9-3c8e5f1a2d64.jpg
                 */
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
                    /** @description `public, max-age=31536000, immutable`: a key never changes content. */
                    "Cache-Control": string;
                    /** @description The image's size in bytes. */
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
            503: components["responses"]["StorageUnavailable"];
        };
    };
    getGuestPage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The link's `short_code`. Text of another form is not an error here: it names no link, so it is the 404 page (a segment the router itself refuses, over 200 characters or not decodable, is the JSON 404 as on any path). */
                short_code: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The guest page of a link that can be called now. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Security-Policy": components["headers"]["PageContentSecurityPolicy"];
                    "Cache-Control": components["headers"]["NoStore"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example <!doctype html><html lang="en"><head><title>Call Hana Ito</title>…</head><body><main>…</main></body></html> */
                    "text/html": string;
                };
            };
            /** @description No link has this code; the page says so. */
            404: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Security-Policy": components["headers"]["PageContentSecurityPolicy"];
                    "Cache-Control": components["headers"]["NoStore"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The link exists but cannot be called now; the page says why. */
            410: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Security-Policy": components["headers"]["PageContentSecurityPolicy"];
                    "Cache-Control": components["headers"]["NoStore"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    getHostConsole: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The console page. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "Content-Security-Policy": components["headers"]["PageContentSecurityPolicy"];
                    "Cache-Control": components["headers"]["NoStore"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example <!doctype html><html lang="en"><head><title>Host console</title>…</head><body><main>…</main></body></html> */
                    "text/html": string;
                };
            };
            503: components["responses"]["Overloaded"];
        };
    };
    getWebAsset: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The asset's name, as a page names it.
                 * @example guest-5MZJQK3V.js
                 */
                file: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The asset. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    /** @description `public, max-age=31536000, immutable`: a name never changes content. */
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    "text/javascript": string;
                    "text/css": string;
                };
            };
            404: components["responses"]["NotFound"];
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "email": "ann@example.com",
                 *       "password": "correct horse battery",
                 *       "display_name": "Ann Lee"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *         "email": "ann@example.com",
                     *         "display_name": "Ann Lee",
                     *         "role": "user",
                     *         "email_verified": false,
                     *         "created_at": "2024-11-21T09:14:03.201Z"
                     *       },
                     *       "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InlySGl6bGlxc2ZNcnBnWkxzNkI2WXJhaDAtZXlWbnZmM3ppbFlQcWdJeGMifQ.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJhdWQiOiJ2aWRpdm86djEiLCJzdWIiOiIwMUpENzAwMDIxWFk4SDdNMkhGVkMwNEI3USIsInJvbGUiOiJ1c2VyIiwianRpIjoiODhiOWJlMjktZjA1Zi00NGUyLWE4ZmUtMzJlODBkMmQ1ZDY0IiwiaWF0IjoxNzMyMTgwNDQzLCJleHAiOjE3MzIxODEzNDN9.dFybUFlB2Z0tVDs6UkOQGPwa4_rJp1ctWkrP0bdrAnwuKRTi90pHbhnWvnjHoCCqJqaO7fdgkZcAiNNqxr24da1P1s6dPeOcSzvVc2LCTm81q9ASPgb_KZ6ZuAA-9OqpoDRhUwX4o4J-D93RaD2UaW1w6CfY0v2q5mnbhb3W18k4gxdg29cugbctKTxuLHQxAKuPgRtuuiQXP3lJidfnSYVDADZoAJ8_4_wLeVpQSrOjLSzErPLtIT73P5WlMK0L5blx_B4Xr1716JVNqWMmnhxK4OuLws8CRcZ8GfQJalXsP-3imAMkWSspqtfIq48jdlj4DdQC5rhq3vuTJqRwXA",
                     *       "refresh_token": "rt_fL3gnxmA_p12vw2jbGDwhMmsZnHlxMzi5fojGi2DI_A",
                     *       "expires_in": 900
                     *     }
                     */
                    "application/json": components["schemas"]["Session"];
                };
            };
            /** @description `validation_error`: `details` maps each offending field to a message (`email` also when the trimmed address is empty, invalid or over 254 characters). */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "validation_error",
                     *         "message": "Request validation failed.",
                     *         "details": {
                     *           "email": "must be a valid email address",
                     *           "password": "must be at least 8 characters"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description `conflict`: an account already has this e-mail (compared case-insensitively); `details.email`. */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "conflict",
                     *         "message": "The resource already exists or was changed.",
                     *         "details": {
                     *           "email": "is already registered"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "email": "ann@example.com",
                 *       "password": "correct horse battery"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *         "email": "ann@example.com",
                     *         "display_name": "Ann Lee",
                     *         "role": "verified_user",
                     *         "email_verified": true,
                     *         "created_at": "2024-11-21T09:14:03.201Z"
                     *       },
                     *       "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InlySGl6bGlxc2ZNcnBnWkxzNkI2WXJhaDAtZXlWbnZmM3ppbFlQcWdJeGMifQ.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJhdWQiOiJ2aWRpdm86djEiLCJzdWIiOiIwMUpENzAwMDIxWFk4SDdNMkhGVkMwNEI3USIsInJvbGUiOiJ2ZXJpZmllZF91c2VyIiwianRpIjoiN2ZlODU3ZGYtNTdjZi00NWM5LTk3YjQtMmY1NWFiY2ZhYjAzIiwiaWF0IjoxNzMyMTgxNTA3LCJleHAiOjE3MzIxODI0MDd9.kbxz_uDD2uxFgkWji4OiAMPOirX5xvGBf0pRvz-8R5bg2lmUBR4IWhhu5aC9m2AwRD00vdPukFF5W7zGvXhAiXNXl0hIrgWGZtS0NxF6GV7JQgK1SyifT0C7nYfXQ9AHkPvi7ODFP9hoe0O71fCEpQe5pAel1igzXJzVfVb64UKqrdT_9xTnLWplHzXDN74ZdPOB2PEbUwUMSFQ1vCS2WG4k9qSZWBfnxsJzTv6RAUbiy-XbpQ951yW_PCZZ8ACm0v4kYkvAQ6Pwi7pxD_P9xoSAYBSRlT0Di2HvqSM39svKhegIE2NHU2NMLmjckvGOUABgv6egLtRbzGmI5-t5mw",
                     *       "refresh_token": "rt_vC3WrUv5Nm4GwmLHsNfBXkeHHBMzyWEnc33Q18pNmk8",
                     *       "expires_in": 900
                     *     }
                     */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "invalid_credentials",
                     *         "message": "The email or password is incorrect.",
                     *         "details": null
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "refresh_token": "rt_vC3WrUv5Nm4GwmLHsNfBXkeHHBMzyWEnc33Q18pNmk8"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InlySGl6bGlxc2ZNcnBnWkxzNkI2WXJhaDAtZXlWbnZmM3ppbFlQcWdJeGMifQ.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJhdWQiOiJ2aWRpdm86djEiLCJzdWIiOiIwMUpENzAwMDIxWFk4SDdNMkhGVkMwNEI3USIsInJvbGUiOiJ2ZXJpZmllZF91c2VyIiwianRpIjoiNjI1OTU0YzUtZmZkMy00ZGI3LThkNzgtZDg1MzhlOTk3NDk0IiwiaWF0IjoxNzMyMTgyMzEyLCJleHAiOjE3MzIxODMyMTJ9.4YmpeF8_srcgAgD-sTLG6szMus65D__hmNEaIIH1J8aUvf53B3_xxQRBXEk5-qTfwKqyJhWaPUBwvELvWaGtZ9zAvBxOhNNp-_A8DOWbMfKbFfxYzZX6lRE1Vkp-aVggNvxpB1Dk71aivQx-agM1IJD6oFNNervYySJTiNx0Me7WCWM3q_sKgfqp0U-cTry7eazzNL5_wsLpvLbpmcf6AWkSS34Du4ctDVi1LsQQFgWX9D7LgKT9AwoGQXyilco1d6yS-EY1r2jf6Wo74tpAVk1Jz2YDo9MnUvqw6p-XNpxBF59KzgohQYOvgtU7IU1nJ82xLemRY5CSVKy3sxPu4A",
                     *       "refresh_token": "rt_oPCH86oxL6UfnmeDJHgGbyLyFKuez-S50k8so5qOoXI",
                     *       "expires_in": 900
                     *     }
                     */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "unauthorized",
                     *         "message": "Authentication is required or the token is invalid.",
                     *         "details": null
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "refresh_token": "rt_oPCH86oxL6UfnmeDJHgGbyLyFKuez-S50k8so5qOoXI"
                 *     }
                 */
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
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "display_name": "Gina",
                 *       "email": "gina@example.com"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "guest_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InlySGl6bGlxc2ZNcnBnWkxzNkI2WXJhaDAtZXlWbnZmM3ppbFlQcWdJeGMifQ.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJhdWQiOiJ2aWRpdm86djEiLCJzdWIiOiIwMUpENFFYWlpQN0pXTjREUlRaWjZZTjdXUCIsInJvbGUiOiJndWVzdCIsImp0aSI6IjgwZGIzMjc2LTI2YzUtNDgwYy04YjIzLWM5MWM3MWU3Y2M0OCIsImlhdCI6MTczMjEwNDg4MCwiZXhwIjoxNzMyMTkxMjgwfQ.6rBO9SbTDFWyvS1rDiOvsWJCenL0YywxK63z0-30JjCssZU_dfoFz_DnPQlohgIvxwxjt45N5EaD9wPvFdOBz3DCZ_TZzh3D4vsS1y28ayyIhJ6DVkPIonZp-LOvcpj4kZsQD8tnVeoUYGG2iLlPgH7zz4466YJt25lmcQxNgpzLIvOQK4qiTbeQSwpb7eNj12rKldA6k7vVh5gVG5v8DSoTOaVLA6QEAl2vnjRJ9MbSJ_PvWPGEl0c8uwP0YHUf19S_MQULJC5FFfqYYlOlh2SbZpgWwlVojqYSIAtHTIeZC64Bi1gQhGOc3EKRCULpvlHtlTrSgZ-TdoO_1CY4Hw",
                     *       "expires_in": 86400,
                     *       "guest": {
                     *         "id": "01JD4QXZZP7JWN4DRTZZ6YN7WP",
                     *         "display_name": "Gina",
                     *         "email": "gina@example.com"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["GuestSession"];
                };
            };
            400: components["responses"]["ValidationError"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "token": "ev_E9l80qYjx2R_F-2Xza4wIM8eUQrppt_WtCjtTKnJkHA"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "user": {
                     *         "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *         "email": "ann@example.com",
                     *         "display_name": "Ann Lee",
                     *         "role": "verified_user",
                     *         "email_verified": true,
                     *         "created_at": "2024-11-21T09:14:03.201Z"
                     *       }
                     *     }
                     */
                    "application/json": {
                        /** @description The account, now with `email_verified` true (and role `verified_user` if it was `user`). */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "validation_error",
                     *         "message": "Request validation failed.",
                     *         "details": {
                     *           "token": "is invalid, expired or already used"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "email": "ann@example.com"
                 *     }
                 */
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
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "token": "pr_zdd_NIsRcFzOzwbZlU-T1vym_G6f2ox1A5VD4lA3jz4",
                 *       "password": "staple battery horse correct"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "validation_error",
                     *         "message": "Request validation failed.",
                     *         "details": {
                     *           "token": "is invalid, expired or already used"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
                    /**
                     * @example {
                     *       "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *       "email": "hana@example.com",
                     *       "username": "hana",
                     *       "display_name": "Hana Ito",
                     *       "bio": "Tarot and astrology readings, in English and Spanish.",
                     *       "avatar_url": "http://localhost:3000/media/01934582-85c6-76a8-914f-9fa95f08ee5b.webp",
                     *       "role": "host",
                     *       "email_verified": true,
                     *       "language": "es",
                     *       "notification_preferences": {
                     *         "email_incoming_call": true,
                     *         "email_receipts": true
                     *       },
                     *       "created_at": "2024-11-19T17:21:58.557Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Profile"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    deleteMyAccount: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "password": "correct horse battery"
                 *     }
                 */
                "application/json": components["schemas"]["AccountDeletion"];
            };
        };
        responses: {
            /** @description The account is deleted. */
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
            /** @description `validation_error`: a body that is not as documented, or no `password` when the session did not begin in the last 5 minutes (`details.password`). */
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
            /** @description `unauthorized` (no valid access token of an existing account), or `invalid_credentials`: the password is wrong (`details.password`). */
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
            402: components["responses"]["StripeError"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["DeletionUnavailable"];
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
                /**
                 * @example {
                 *       "display_name": "Ann Lee",
                 *       "username": "annlee",
                 *       "bio": null,
                 *       "notification_preferences": {
                 *         "email_receipts": false
                 *       }
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *       "email": "ann@example.com",
                     *       "username": "annlee",
                     *       "display_name": "Ann Lee",
                     *       "bio": null,
                     *       "avatar_url": null,
                     *       "role": "verified_user",
                     *       "email_verified": true,
                     *       "language": "en",
                     *       "notification_preferences": {
                     *         "email_incoming_call": true,
                     *         "email_receipts": false
                     *       },
                     *       "created_at": "2024-11-21T09:14:03.201Z"
                     *     }
                     */
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
            503: components["responses"]["Overloaded"];
        };
    };
    exportMyData: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The account's data. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "exported_at": "2024-11-23T10:00:00.000Z",
                     *       "profile": {
                     *         "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *         "email": "ann@example.com",
                     *         "username": "annlee",
                     *         "display_name": "Ann Lee",
                     *         "bio": null,
                     *         "avatar_url": "http://localhost:3000/media/01934e23-35b0-7db1-a6d0-dd5db28413e4.webp",
                     *         "role": "host",
                     *         "email_verified": true,
                     *         "language": "en",
                     *         "notification_preferences": {
                     *           "email_incoming_call": true,
                     *           "email_receipts": true
                     *         },
                     *         "created_at": "2024-11-21T09:14:03.201Z"
                     *       },
                     *       "sessions": [
                     *         {
                     *           "id": "01JD9Y3K5M7P9R1T3V5X7Z9B1D",
                     *           "session_id": "01JD700024B2C4D6F8H0J2K4M6",
                     *           "created_at": "2024-11-23T09:58:12.004Z",
                     *           "expires_at": "2024-12-23T09:58:12.004Z",
                     *           "rotated_at": null,
                     *           "revoked_at": null
                     *         }
                     *       ],
                     *       "mail_tokens": [
                     *         {
                     *           "purpose": "verify_email",
                     *           "created_at": "2024-11-21T09:14:03.305Z",
                     *           "expires_at": "2024-11-23T09:14:03.305Z",
                     *           "used_at": "2024-11-21T09:20:41.118Z"
                     *         }
                     *       ],
                     *       "images": [
                     *         {
                     *           "url": "http://localhost:3000/media/01943b72-5d18-7b6f-8e2a-4c9d1f3b7a05.png",
                     *           "created_at": "2024-11-22T18:02:11.530Z"
                     *         }
                     *       ],
                     *       "links": [
                     *         {
                     *           "id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *           "short_code": "Xk3P9qRt2Z",
                     *           "url": "http://localhost:3000/c/Xk3P9qRt2Z",
                     *           "host_id": "01JD700021XY8H7M2HFVC04B7Q",
                     *           "rate_per_minute": "3.00",
                     *           "window_size_minutes": 10,
                     *           "expires_at": null,
                     *           "max_uses": null,
                     *           "use_count": 1,
                     *           "label": "Tarot reading",
                     *           "scheduled_start": null,
                     *           "scheduled_end": null,
                     *           "is_active": true,
                     *           "created_at": "2024-11-21T10:02:45.120Z"
                     *         }
                     *       ],
                     *       "calls": {
                     *         "as_host": [
                     *           {
                     *             "id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *             "status": "completed",
                     *             "short_code": "Xk3P9qRt2Z",
                     *             "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *             "host": {
                     *               "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *               "display_name": "Ann Lee"
                     *             },
                     *             "guest": {
                     *               "id": "01JD4QXZZP7JWN4DRTZZ6YN7WP",
                     *               "display_name": "Gina"
                     *             },
                     *             "rate_per_minute": "3.00",
                     *             "window_size_minutes": 10,
                     *             "created_at": "2024-11-22T12:15:57.842Z",
                     *             "started_at": "2024-11-22T12:16:40.101Z",
                     *             "ended_at": "2024-11-22T12:20:10.101Z",
                     *             "duration_seconds": 210,
                     *             "amount_charged": "12.00",
                     *             "end_reason": "guest_ended",
                     *             "notified_at": "2024-11-22T12:15:57.901Z"
                     *           }
                     *         ],
                     *         "as_guest": []
                     *       },
                     *       "billing_windows": [
                     *         {
                     *           "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *           "window": 1,
                     *           "amount": "30.00",
                     *           "hold_status": "captured",
                     *           "capture_amount": "12.00",
                     *           "created_at": "2024-11-22T12:15:58.010Z",
                     *           "updated_at": "2024-11-22T12:20:10.450Z"
                     *         }
                     *       ],
                     *       "payments": [
                     *         {
                     *           "id": "01JD4RM0FE72CXM0TV6H6BGDXF",
                     *           "type": "earning",
                     *           "payment_id": "01JD4RM0FE72CXM0TV6H6BGDXF",
                     *           "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *           "window": 1,
                     *           "amount": "12.00",
                     *           "fee": "0.84",
                     *           "net": "11.16",
                     *           "status": null,
                     *           "currency": "usd",
                     *           "created_at": "2024-11-22T12:20:10.450Z"
                     *         }
                     *       ],
                     *       "payouts": [],
                     *       "notifications": [
                     *         {
                     *           "id": "01JD4R0BWJ8T3QK5V7XN2M9PRD",
                     *           "type": "call_incoming",
                     *           "data": {
                     *             "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *             "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *             "short_code": "Xk3P9qRt2Z",
                     *             "guest_display_name": "Gina",
                     *             "rate_per_minute": "3.00",
                     *             "window_size_minutes": 10
                     *           },
                     *           "created_at": "2024-11-22T12:15:57.842Z",
                     *           "read_at": "2024-11-22T12:16:02.377Z"
                     *         }
                     *       ],
                     *       "guest_sessions": [
                     *         {
                     *           "id": "01JD3ZV1X3Z5B7D9F1H3K5M7P9",
                     *           "display_name": "Ann",
                     *           "email": "ann@example.com",
                     *           "language": "en",
                     *           "created_at": "2024-11-20T08:00:00.000Z",
                     *           "expires_at": "2024-11-21T08:00:00.000Z"
                     *         }
                     *       ],
                     *       "payment_customers": [],
                     *       "connect_account": {
                     *         "account_ref": "acct_1QDmT2Lk8S3f6X9a",
                     *         "status": "enabled",
                     *         "charges_enabled": true,
                     *         "payouts_enabled": true,
                     *         "requirements_due": [],
                     *         "created_at": "2024-11-21T10:00:12.500Z"
                     *       },
                     *       "audit_events": [
                     *         {
                     *           "id": "01JD7R2S4T6V8X0Z2B4D6F8H0J",
                     *           "action": "user.role_changed",
                     *           "actor": {
                     *             "kind": "user",
                     *             "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V"
                     *           },
                     *           "target": {
                     *             "type": "user",
                     *             "id": "01JD700021XY8H7M2HFVC04B7Q"
                     *           },
                     *           "data": {
                     *             "from": "verified_user",
                     *             "to": "host"
                     *           },
                     *           "request_id": "8d0b6c1e-4f2a-4c8e-9a51-2f7d3e6b9c10",
                     *           "created_at": "2024-11-21T09:55:31.870Z"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["AccountExport"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
                    /**
                     * @example {
                     *       "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *       "email": "ann@example.com",
                     *       "username": "annlee",
                     *       "display_name": "Ann Lee",
                     *       "bio": null,
                     *       "avatar_url": "http://localhost:3000/media/01934e23-35b0-7db1-a6d0-dd5db28413e4.webp",
                     *       "role": "verified_user",
                     *       "email_verified": true,
                     *       "language": "en",
                     *       "notification_preferences": {
                     *         "email_incoming_call": true,
                     *         "email_receipts": true
                     *       },
                     *       "created_at": "2024-11-21T09:14:03.201Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Profile"];
                };
            };
            /** @description `validation_error`: no `avatar` file part, more than one file, or a file that is not a complete PNG, JPEG, GIF or WebP image of at most 40 megapixels (`details.avatar`). */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "validation_error",
                     *         "message": "Request validation failed.",
                     *         "details": {
                     *           "avatar": "must exist"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["StorageUnavailable"];
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
                    /**
                     * @example {
                     *       "data": [
                     *         {
                     *           "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *           "email": "ann@example.com",
                     *           "username": null,
                     *           "display_name": "Ann Lee",
                     *           "bio": null,
                     *           "avatar_url": null,
                     *           "role": "verified_user",
                     *           "email_verified": true,
                     *           "language": "en",
                     *           "notification_preferences": {
                     *             "email_incoming_call": true,
                     *             "email_receipts": true
                     *           },
                     *           "created_at": "2024-11-21T09:14:03.201Z"
                     *         },
                     *         {
                     *           "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *           "email": "hana@example.com",
                     *           "username": "hana",
                     *           "display_name": "Hana Ito",
                     *           "bio": "Tarot and astrology readings, in English and Spanish.",
                     *           "avatar_url": "http://localhost:3000/media/01934582-85c6-76a8-914f-9fa95f08ee5b.webp",
                     *           "role": "host",
                     *           "email_verified": true,
                     *           "language": "en",
                     *           "notification_preferences": {
                     *             "email_incoming_call": true,
                     *             "email_receipts": true
                     *           },
                     *           "created_at": "2024-11-19T17:21:58.557Z"
                     *         }
                     *       ],
                     *       "pagination": {
                     *         "cursor": "eyJsIjoidXNlcnMiLCJ0IjoiMjAyNC0xMS0xOVQxNzoyMTo1OC41NTdaIiwiaSI6IjAxOTM0NTcxLWZkMWQtMjUwYi01MzU4LWY3NDYxMzkwNjgzYiJ9",
                     *         "has_more": true,
                     *         "limit": 2
                     *       }
                     *     }
                     */
                    "application/json": {
                        /** @description The accounts of this page, newest first. */
                        data: components["schemas"]["Profile"][];
                        /** @description How to ask for the next page. */
                        pagination: components["schemas"]["Pagination"];
                    };
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    deleteUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The account's id (`id` of its profile, the `sub` of its access tokens). */
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "password": "the admin's password"
                 *     }
                 */
                "application/json": components["schemas"]["AccountDeletion"];
            };
        };
        responses: {
            /** @description The account is deleted. */
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
            /** @description `validation_error`: an invalid id or body, or no `password` when the admin's session did not begin in the last 5 minutes (`details.password`). */
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
            /** @description `unauthorized` (no valid access token of an existing account), or `invalid_credentials`: the admin's password is wrong (`details.password`). */
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
            402: components["responses"]["StripeError"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description `conflict` (`details.id`): an admin's own account is deleted with `DELETE /v1/users/me`. */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "conflict",
                     *         "message": "The resource already exists or was changed.",
                     *         "details": {
                     *           "id": "is your own account: delete it with DELETE /v1/users/me"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["DeletionUnavailable"];
        };
    };
    setUserRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The account's id (`id` of its profile, the `sub` of its access tokens). */
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "role": "host"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "id": "01JD700021XY8H7M2HFVC04B7Q",
                     *       "email": "ann@example.com",
                     *       "username": "annlee",
                     *       "display_name": "Ann Lee",
                     *       "bio": null,
                     *       "avatar_url": "http://localhost:3000/media/01934e23-35b0-7db1-a6d0-dd5db28413e4.webp",
                     *       "role": "host",
                     *       "email_verified": true,
                     *       "language": "en",
                     *       "notification_preferences": {
                     *         "email_incoming_call": true,
                     *         "email_receipts": true
                     *       },
                     *       "created_at": "2024-11-21T09:14:03.201Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Profile"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description `conflict` (`details.role`): `host` and `admin` need a verified e-mail, and an admin cannot change their own role. */
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
            503: components["responses"]["Overloaded"];
        };
    };
    listAuditLog: {
        parameters: {
            query?: {
                /** @description Only entries of this action. */
                action?: components["schemas"]["AuditAction"];
                /** @description Only entries about this target (`target.id`: an account's or a payment's id, or a key's `kid`). */
                target_id?: string;
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
            /** @description One page of the audit log. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "data": [
                     *         {
                     *           "id": "01JD7A1B2C3D4E5F6G7H8J9K0M",
                     *           "action": "payment.refunded",
                     *           "actor": {
                     *             "kind": "user",
                     *             "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V"
                     *           },
                     *           "target": {
                     *             "type": "payment",
                     *             "id": "01JD6Z5Y4X3W2V1T0S9R8Q7P6N"
                     *           },
                     *           "data": {
                     *             "refund_id": "01JD7A1B2C3D4E5F6G7H8J9K0N",
                     *             "amount": "12.50"
                     *           },
                     *           "request_id": "5f0c2a4e-8d1b-4c3a-9e7f-1a2b3c4d5e6f",
                     *           "created_at": "2024-11-22T10:02:11.480Z"
                     *         },
                     *         {
                     *           "id": "01JD79ZX8W7V6T5S4R3Q2P1N0M",
                     *           "action": "user.role_changed",
                     *           "actor": {
                     *             "kind": "system",
                     *             "id": null
                     *           },
                     *           "target": {
                     *             "type": "user",
                     *             "id": "01JD700021XY8H7M2HFVC04B7Q"
                     *           },
                     *           "data": {
                     *             "from": "verified_user",
                     *             "to": "host"
                     *           },
                     *           "request_id": null,
                     *           "created_at": "2024-11-22T09:58:40.012Z"
                     *         }
                     *       ],
                     *       "pagination": {
                     *         "cursor": "eyJsIjoiYXVkaXRfbG9nIiwidCI6IjIwMjQtMTEtMjJUMDk6NTg6NDAuMDEyWiIsImkiOiIwMTkzNTI3Zi1mZjFlLTdkYzEtYjFlMC0xZTBmMDAwMDAwMDAifQ",
                     *         "has_more": true,
                     *         "limit": 2
                     *       }
                     *     }
                     */
                    "application/json": {
                        /** @description The entries of this page, newest first. */
                        data: components["schemas"]["AuditEntry"][];
                        /** @description How to ask for the next page. */
                        pagination: components["schemas"]["Pagination"];
                    };
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
                    /**
                     * @example {
                     *       "data": [
                     *         {
                     *           "id": "01JD75BS0TQH9JRK1HBCX4B30Q",
                     *           "short_code": "p7WmQe4Lz1",
                     *           "url": "http://localhost:3000/c/p7WmQe4Lz1",
                     *           "host_id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *           "rate_per_minute": "1.50",
                     *           "window_size_minutes": 5,
                     *           "expires_at": null,
                     *           "max_uses": null,
                     *           "use_count": 0,
                     *           "label": "Quick question",
                     *           "scheduled_start": "2024-11-25T16:00:00.000Z",
                     *           "scheduled_end": "2024-11-25T18:00:00.000Z",
                     *           "is_active": true,
                     *           "created_at": "2024-11-21T10:47:52.090Z"
                     *         },
                     *         {
                     *           "id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *           "short_code": "Xk3P9qRt2Z",
                     *           "url": "http://localhost:3000/c/Xk3P9qRt2Z",
                     *           "host_id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *           "rate_per_minute": "3.00",
                     *           "window_size_minutes": 10,
                     *           "expires_at": "2024-12-31T23:00:00.000Z",
                     *           "max_uses": 50,
                     *           "use_count": 7,
                     *           "label": "Tarot reading",
                     *           "scheduled_start": null,
                     *           "scheduled_end": null,
                     *           "is_active": true,
                     *           "created_at": "2024-11-19T18:02:11.734Z"
                     *         }
                     *       ],
                     *       "pagination": {
                     *         "cursor": null,
                     *         "has_more": false,
                     *         "limit": 20
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LinkPage"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
                /**
                 * @example {
                 *       "rate_per_minute": "3.00",
                 *       "window_size_minutes": 10,
                 *       "expires_at": "2024-12-31T23:00:00.000Z",
                 *       "max_uses": 50,
                 *       "label": "Tarot reading"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "link": {
                     *         "id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "url": "http://localhost:3000/c/Xk3P9qRt2Z",
                     *         "host_id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *         "rate_per_minute": "3.00",
                     *         "window_size_minutes": 10,
                     *         "expires_at": "2024-12-31T23:00:00.000Z",
                     *         "max_uses": 50,
                     *         "use_count": 0,
                     *         "label": "Tarot reading",
                     *         "scheduled_start": null,
                     *         "scheduled_end": null,
                     *         "is_active": true,
                     *         "created_at": "2024-11-19T18:02:11.734Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LinkEnvelope"];
                };
            };
            /** @description `validation_error`: `details` maps each offending field to a message (the schema's rules, then the rate's range and the schedule's order, reported together). */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "validation_error",
                     *         "message": "Request validation failed.",
                     *         "details": {
                     *           "rate_per_minute": "must be an amount between 0.50 and 999.99 with two decimals",
                     *           "scheduled_end": "must be after scheduled_start"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["StripeNotConnected"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    resolveLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The link's `short_code` (the last segment of its `url`, `$PUBLIC_URL/c/<short_code>`). */
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
            503: components["responses"]["Overloaded"];
        };
    };
    getLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The link's `id` (from create or list; not its `short_code`). */
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
                    /**
                     * @example {
                     *       "link": {
                     *         "id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "url": "http://localhost:3000/c/Xk3P9qRt2Z",
                     *         "host_id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *         "rate_per_minute": "3.00",
                     *         "window_size_minutes": 10,
                     *         "expires_at": "2024-12-31T23:00:00.000Z",
                     *         "max_uses": 50,
                     *         "use_count": 7,
                     *         "label": "Tarot reading",
                     *         "scheduled_start": null,
                     *         "scheduled_end": null,
                     *         "is_active": true,
                     *         "created_at": "2024-11-19T18:02:11.734Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LinkEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["LinkNotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    deleteLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The link's `id` (from create or list; not its `short_code`). */
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
                    /**
                     * @example {
                     *       "link": {
                     *         "id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "url": "http://localhost:3000/c/Xk3P9qRt2Z",
                     *         "host_id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *         "rate_per_minute": "3.50",
                     *         "window_size_minutes": 10,
                     *         "expires_at": "2024-12-31T23:00:00.000Z",
                     *         "max_uses": null,
                     *         "use_count": 8,
                     *         "label": "Tarot reading",
                     *         "scheduled_start": null,
                     *         "scheduled_end": null,
                     *         "is_active": false,
                     *         "created_at": "2024-11-19T18:02:11.734Z"
                     *       }
                     *     }
                     */
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
            503: components["responses"]["Overloaded"];
        };
    };
    updateLink: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The link's `id` (from create or list; not its `short_code`). */
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "rate_per_minute": "3.50",
                 *       "max_uses": null
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "link": {
                     *         "id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "url": "http://localhost:3000/c/Xk3P9qRt2Z",
                     *         "host_id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *         "rate_per_minute": "3.50",
                     *         "window_size_minutes": 10,
                     *         "expires_at": "2024-12-31T23:00:00.000Z",
                     *         "max_uses": null,
                     *         "use_count": 7,
                     *         "label": "Tarot reading",
                     *         "scheduled_start": null,
                     *         "scheduled_end": null,
                     *         "is_active": true,
                     *         "created_at": "2024-11-19T18:02:11.734Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LinkEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["StripeNotConnected"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["LinkNotFound"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
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
                /**
                 * @example {
                 *       "short_code": "Xk3P9qRt2Z",
                 *       "payment_method_id": "pm_card_visa",
                 *       "guest_name": "Gina"
                 *     }
                 */
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
                    /**
                     * @example {
                     *       "call": {
                     *         "id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "status": "waiting",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "host": {
                     *           "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *           "display_name": "Hana Ito"
                     *         },
                     *         "guest": {
                     *           "id": "01JD4QXZZP7JWN4DRTZZ6YN7WP",
                     *           "display_name": "Gina"
                     *         },
                     *         "rate_per_minute": "3.00",
                     *         "window_size_minutes": 10,
                     *         "created_at": "2024-11-20T12:15:57.015Z",
                     *         "started_at": null,
                     *         "ended_at": null,
                     *         "duration_seconds": null,
                     *         "amount_charged": "0.00",
                     *         "end_reason": null,
                     *         "notified_at": null
                     *       },
                     *       "signaling_token": "st_81HHuReaXKegqmQAVkNCkj1A-Nvblr5tyfPIMTnwxXo",
                     *       "turn_credentials": {
                     *         "urls": [
                     *           "turn:turn.example.com:3478?transport=udp",
                     *           "turns:turn.example.com:5349?transport=tcp"
                     *         ],
                     *         "username": "1732108557:01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "credential": "Glh470KpneNP4it5a5BHKXTeecw="
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["CallSession"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentDeclined"];
            /** @description `forbidden`: a host called their own link (`details.short_code`). */
            403: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "forbidden",
                     *         "message": "You do not have permission to do this.",
                     *         "details": {
                     *           "short_code": "is your own link"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
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
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    listCalls: {
        parameters: {
            query?: {
                /** @description Only calls in this status. */
                status?: components["schemas"]["CallStatus"];
                /** @description `host`: only calls on the caller's links; `guest`: only calls the caller made; absent: both. */
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
                    /**
                     * @example {
                     *       "data": [
                     *         {
                     *           "id": "01JD7QH9N28VA7SJSX8RXF3X3Y",
                     *           "status": "cancelled",
                     *           "short_code": "Xk3P9qRt2Z",
                     *           "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *           "host": {
                     *             "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *             "display_name": "Hana Ito"
                     *           },
                     *           "guest": {
                     *             "id": "01JD7QGDKMGVWF9FN7VKKG8S7B",
                     *             "display_name": "Marco"
                     *           },
                     *           "rate_per_minute": "3.00",
                     *           "window_size_minutes": 10,
                     *           "created_at": "2024-11-21T16:05:27.330Z",
                     *           "started_at": null,
                     *           "ended_at": "2024-11-21T16:10:27.330Z",
                     *           "duration_seconds": null,
                     *           "amount_charged": "0.00",
                     *           "end_reason": "host_no_show",
                     *           "notified_at": null
                     *         },
                     *         {
                     *           "id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *           "status": "completed",
                     *           "short_code": "Xk3P9qRt2Z",
                     *           "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *           "host": {
                     *             "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *             "display_name": "Hana Ito"
                     *           },
                     *           "guest": {
                     *             "id": "01JD4QXZZP7JWN4DRTZZ6YN7WP",
                     *             "display_name": "Gina"
                     *           },
                     *           "rate_per_minute": "3.00",
                     *           "window_size_minutes": 10,
                     *           "created_at": "2024-11-20T12:15:57.015Z",
                     *           "started_at": "2024-11-20T12:16:41.302Z",
                     *           "ended_at": "2024-11-20T12:40:11.302Z",
                     *           "duration_seconds": 1410,
                     *           "amount_charged": "72.00",
                     *           "end_reason": "guest_ended",
                     *           "notified_at": "2024-11-20T12:15:57.142Z"
                     *         }
                     *       ],
                     *       "pagination": {
                     *         "cursor": "eyJsIjoiY2FsbHMiLCJ0IjoiMjAyNC0xMS0yMFQxMjoxNTo1Ny4wMTVaIiwiaSI6IjAxOTM0OTgwLTJjNTctMWZlNi02ZjIyLWExZTE3YTdkYTc0YyJ9",
                     *         "has_more": true,
                     *         "limit": 2
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["CallPage"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    getCall: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
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
                    /**
                     * @example {
                     *       "call": {
                     *         "id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "status": "active",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "host": {
                     *           "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *           "display_name": "Hana Ito"
                     *         },
                     *         "guest": {
                     *           "id": "01JD4QXZZP7JWN4DRTZZ6YN7WP",
                     *           "display_name": "Gina"
                     *         },
                     *         "rate_per_minute": "3.00",
                     *         "window_size_minutes": 10,
                     *         "created_at": "2024-11-20T12:15:57.015Z",
                     *         "started_at": "2024-11-20T12:16:41.302Z",
                     *         "ended_at": null,
                     *         "duration_seconds": null,
                     *         "amount_charged": "30.00",
                     *         "end_reason": null,
                     *         "notified_at": null
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["CallEnvelope"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    joinCall: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
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
                    /**
                     * @example {
                     *       "call": {
                     *         "id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "status": "waiting",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "host": {
                     *           "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *           "display_name": "Hana Ito"
                     *         },
                     *         "guest": {
                     *           "id": "01JD4QXZZP7JWN4DRTZZ6YN7WP",
                     *           "display_name": "Gina"
                     *         },
                     *         "rate_per_minute": "3.00",
                     *         "window_size_minutes": 10,
                     *         "created_at": "2024-11-20T12:15:57.015Z",
                     *         "started_at": null,
                     *         "ended_at": null,
                     *         "duration_seconds": null,
                     *         "amount_charged": "0.00",
                     *         "end_reason": null,
                     *         "notified_at": null
                     *       },
                     *       "signaling_token": "st_vIXElXswlmDqpuxWnJwiHYJART4q4U2FhV4p6w0cljU",
                     *       "turn_credentials": {
                     *         "urls": [
                     *           "turn:turn.example.com:3478?transport=udp",
                     *           "turns:turn.example.com:5349?transport=tcp"
                     *         ],
                     *         "username": "1732108580:01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "credential": "tXktTSHLQsz8tfWS8TgssBzr7yo="
                     *       }
                     *     }
                     */
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
            503: components["responses"]["Overloaded"];
        };
    };
    createSignalingToken: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
                id: components["parameters"]["CallId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The token and TURN credentials. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "signaling_token": "st_WR00grPpB4-rySpKhwHV630gdIe-QmW4m6BRDgz94qs",
                     *       "turn_credentials": {
                     *         "urls": [
                     *           "turn:turn.example.com:3478?transport=udp",
                     *           "turns:turn.example.com:5349?transport=tcp"
                     *         ],
                     *         "username": "1732112157:01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "credential": "Q2sA3VUuW0d0JxN8oC0JYbd8V1A="
                     *       }
                     *     }
                     */
                    "application/json": {
                        /** @description For `GET /ws?token=`: single use, valid 5 minutes, bound to this call and the caller's side of it. */
                        signaling_token: components["schemas"]["SignalingToken"];
                        turn_credentials: components["schemas"]["TurnCredentials"];
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
            503: components["responses"]["Overloaded"];
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
                /** @description The call's `id` (from initiate, `GET /v1/calls` or a signaling message). */
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
                    /**
                     * @example {
                     *       "call": {
                     *         "id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "status": "completed",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "host": {
                     *           "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *           "display_name": "Hana Ito"
                     *         },
                     *         "guest": {
                     *           "id": "01JD4QXZZP7JWN4DRTZZ6YN7WP",
                     *           "display_name": "Gina"
                     *         },
                     *         "rate_per_minute": "3.00",
                     *         "window_size_minutes": 10,
                     *         "created_at": "2024-11-20T12:15:57.015Z",
                     *         "started_at": "2024-11-20T12:16:41.302Z",
                     *         "ended_at": "2024-11-20T12:40:11.302Z",
                     *         "duration_seconds": 1410,
                     *         "amount_charged": "72.00",
                     *         "end_reason": "guest_ended",
                     *         "notified_at": null
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["CallEnvelope"];
                };
            };
            /** @description The end is recorded but the call is still being settled (`ending`): another instance is working on it, or the hold of a window the call used is still being retried with the payment provider (at most about 80 s; then it counts as declined and the call ends `billing_failed` where it was paid). Poll the call. */
            202: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "call": {
                     *         "id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "status": "ending",
                     *         "short_code": "Xk3P9qRt2Z",
                     *         "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *         "host": {
                     *           "id": "01JD2Q3Z8X4M5N6P7Q8R9S0T1V",
                     *           "display_name": "Hana Ito"
                     *         },
                     *         "guest": {
                     *           "id": "01JD4QXZZP7JWN4DRTZZ6YN7WP",
                     *           "display_name": "Gina"
                     *         },
                     *         "rate_per_minute": "3.00",
                     *         "window_size_minutes": 10,
                     *         "created_at": "2024-11-20T12:15:57.015Z",
                     *         "started_at": "2024-11-20T12:16:41.302Z",
                     *         "ended_at": "2024-11-20T12:40:11.302Z",
                     *         "duration_seconds": 1410,
                     *         "amount_charged": "60.00",
                     *         "end_reason": "guest_ended",
                     *         "notified_at": null
                     *       }
                     *     }
                     */
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
            503: components["responses"]["Overloaded"];
        };
    };
    getPaymentHistory: {
        parameters: {
            query?: {
                /** @description Only entries of this type. */
                type?: "charge" | "earning" | "refund" | "dispute";
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
            503: components["responses"]["Overloaded"];
        };
    };
    createSetupIntent: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The SetupIntent to confirm on the client. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "client_secret": "seti_1QbX2cLkdIwHu7ixQ0a1B2c3_secret_RkT4u5V6w7X8y9Z0aBcDeFgHiJkLmNo",
                     *       "publishable_key": "pk_test_51QbX2cLkdIwHu7ixAbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
                     *       "provider": "stripe",
                     *       "test_payment_methods": null
                     *     }
                     */
                    "application/json": components["schemas"]["SetupIntent"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["StripeError"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    createGuestSetupIntent: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The SetupIntent to confirm on the client. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "client_secret": "seti_sim_7b8837ac2348637265b57e0c_secret_9859b544dfb1e5bd628da402",
                     *       "publishable_key": "pk_test_simulated",
                     *       "provider": "simulated",
                     *       "test_payment_methods": [
                     *         "pm_card_visa",
                     *         "pm_card_mastercard",
                     *         "pm_card_chargeDeclined",
                     *         "pm_card_insufficientFunds",
                     *         "pm_card_declineAfterFirstHold"
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["SetupIntent"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["StripeError"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    getConnectStatus: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The host's connected-account status. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "restricted",
                     *       "charges_enabled": false,
                     *       "payouts_enabled": false,
                     *       "requirements_due": [
                     *         "individual.verification.document",
                     *         "external_account"
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["ConnectStatus"];
                };
            };
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["StripeError"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    createConnectOnboarding: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The onboarding link. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "url": "https://connect.stripe.com/setup/e/acct_1QbX2cLkdIwHu7ix/kT4u5V6w7X8y"
                     *     }
                     */
                    "application/json": components["schemas"]["ConnectLink"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["StripeError"];
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    createConnectDashboardLink: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The dashboard login link. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "url": "https://connect.stripe.com/express/acct_1QbX2cLkdIwHu7ix/Lm9NoPqRsTuV"
                     *     }
                     */
                    "application/json": components["schemas"]["ConnectLink"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            /**
             * @description `stripe_not_connected`: the host has not finished Stripe Connect onboarding (charges not
             *     enabled); or `stripe_error`: the payment provider refused the request
             *     (`details.stripe_code`).
             */
            402: {
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
            403: components["responses"]["Forbidden"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    getEarnings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The host's earnings per currency. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "earnings": [
                     *         {
                     *           "currency": "usd",
                     *           "gross": "72.00",
                     *           "fee": "4.34",
                     *           "net": "57.66",
                     *           "refunded": "10.00",
                     *           "disputed": "0.00",
                     *           "pending": "27.90",
                     *           "available": "29.76"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["Earnings"];
                };
            };
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["StripeError"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    listPayouts: {
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
            /** @description A page of payouts. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "data": [
                     *         {
                     *           "id": "01JDB2W4C7H9K1M3P5R7T9V1XZ",
                     *           "amount": "29.76",
                     *           "currency": "usd",
                     *           "status": "paid",
                     *           "arrival_at": "2024-11-25T00:00:00.000Z",
                     *           "failure_code": null,
                     *           "created_at": "2024-11-22T23:21:20.007Z"
                     *         }
                     *       ],
                     *       "pagination": {
                     *         "cursor": null,
                     *         "has_more": false,
                     *         "limit": 20
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["PayoutPage"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    stripeWebhook: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description Stripe's signature of the delivery, `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]`.
                 *     Needed in practice: the operation answers `400` itself when it is missing or invalid.
                 */
                "Stripe-Signature"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "id": "evt_3QbX2cLkdIwHu7ix1aBcDeFg",
                 *       "object": "event",
                 *       "type": "payment_intent.succeeded",
                 *       "created": 1732105601,
                 *       "livemode": false,
                 *       "data": {
                 *         "object": {
                 *           "id": "pi_3QbX2cLkdIwHu7ix1HiJkLmN",
                 *           "object": "payment_intent",
                 *           "amount_received": 3000,
                 *           "currency": "usd",
                 *           "status": "succeeded"
                 *         }
                 *       }
                 *     }
                 */
                "application/json": components["schemas"]["StripeEvent"];
            };
        };
        responses: {
            /** @description The event was received (processed now, processed before, or ignored). */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "received": true,
                     *       "duplicate": false
                     *     }
                     */
                    "application/json": components["schemas"]["WebhookReceipt"];
                };
            };
            /**
             * @description `validation_error`: the `Stripe-Signature` header is missing or invalid, its timestamp
             *     is outside the 300 s tolerance, or the body is not a Stripe event (also every delivery
             *     with the simulated provider). Nothing is stored.
             */
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
            /** @description `conflict`: the same event is being processed by another delivery right now; Stripe retries later. */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "conflict",
                     *         "message": "The resource already exists or was changed.",
                     *         "details": {
                     *           "event": "is being processed"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            /** @description `internal_error`: processing the event failed; nothing is stored and Stripe retries later. */
            500: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "internal_error",
                     *         "message": "An unexpected error occurred.",
                     *         "details": null
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            503: components["responses"]["Overloaded"];
        };
    };
    refundPayment: {
        parameters: {
            query?: never;
            header: {
                /**
                 * @description A UUID, required; see the operation for the replay rules. A request that failed with a 5xx,
                 *     or whose server died, does not hold its key: its claim is released, or lapses within about
                 *     10 s, and a retry with the same key and body then runs again.
                 */
                "X-Idempotency-Key": components["parameters"]["IdempotencyKeyRequired"];
            };
            path: {
                /** @description The payment's id (a `charge` or `earning` entry's `id`, its `payment_id`). */
                id: components["schemas"]["Id"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "amount": "10.00",
                 *       "reason": "requested_by_customer"
                 *     }
                 */
                "application/json": components["schemas"]["RefundRequest"];
            };
        };
        responses: {
            /** @description The refund. */
            201: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "refund": {
                     *         "id": "01JDB3A8E2G4J6M8Q0S2V4X6Z8",
                     *         "payment_id": "01JD4RM0FE72CXM0TV6H6BGDXF",
                     *         "call_id": "01JD4R0B2Q3ZK6Y8N1W5X7V9TC",
                     *         "amount": "10.00",
                     *         "fee_refunded": "0.70",
                     *         "transfer_reversed": "9.30",
                     *         "reason": "requested_by_customer",
                     *         "status": "succeeded",
                     *         "created_at": "2024-11-22T23:29:02.914Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["RefundEnvelope"];
                };
            };
            /**
             * @description `validation_error`: `details` maps each offending field to a message; `details.amount`
             *     when the amount is more than what is left to refund of the payment.
             */
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
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "validation_error",
                     *         "message": "Request validation failed.",
                     *         "details": {
                     *           "amount": "is more than the 20.00 left to refund"
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["StripeError"];
            403: components["responses"]["Forbidden"];
            /** @description `not_found`: no payment (captured window) has this id. */
            404: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "not_found",
                     *         "message": "The resource does not exist.",
                     *         "details": null
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            409: components["responses"]["IdempotencyConflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["PaymentsUnavailable"];
        };
    };
    listNotifications: {
        parameters: {
            query?: {
                /** @description `true`: only unread notifications (`read_at` null); absent: all. */
                unread?: boolean;
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
            /** @description A page of notifications. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "data": [
                     *         {
                     *           "id": "01JD7QTEN1R6BC9V3YF0D2XKMA",
                     *           "type": "call_missed",
                     *           "data": {
                     *             "call_id": "01JD7QH9N28VA7SJSX8RXF3X3Y",
                     *             "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *             "short_code": "Xk3P9qRt2Z",
                     *             "guest_display_name": "Marco"
                     *           },
                     *           "created_at": "2024-11-21T16:10:27.361Z",
                     *           "read_at": null
                     *         },
                     *         {
                     *           "id": "01JD7QHADG5W2HZ8M4KC6RT0QN",
                     *           "type": "call_incoming",
                     *           "data": {
                     *             "call_id": "01JD7QH9N28VA7SJSX8RXF3X3Y",
                     *             "link_id": "01JD2SDKWPME3HY6QDYDRDWJNP",
                     *             "short_code": "Xk3P9qRt2Z",
                     *             "guest_display_name": "Marco",
                     *             "rate_per_minute": "3.00",
                     *             "window_size_minutes": 10
                     *           },
                     *           "created_at": "2024-11-21T16:05:28.112Z",
                     *           "read_at": "2024-11-21T16:06:02.540Z"
                     *         }
                     *       ],
                     *       "pagination": {
                     *         "cursor": "eyJsIjoibm90aWZpY2F0aW9ucyIsInQiOiIyMDI0LTExLTIxVDE2OjA1OjI4LjExMloiLCJpIjoiMDE5MzRmNzgtYTliMC0yZjA1LTFmYTItODQ5YjBkOGQwMmY1In0",
                     *         "has_more": true,
                     *         "limit": 2
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["NotificationPage"];
                };
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    getUnreadNotificationCount: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The unread count. */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "count": 3
                     *     }
                     */
                    "application/json": components["schemas"]["UnreadCount"];
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    markNotificationRead: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The notification's `id` (from `GET /v1/notifications` or the `id:` of a `GET /v1/events` event). */
                id: components["parameters"]["NotificationId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The notification is read. */
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
            401: components["responses"]["Unauthorized"];
            /** @description `not_found`: the caller has no notification with this id (another user's notification is answered the same). */
            404: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    "Content-Language": components["headers"]["Content-Language"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": {
                     *         "code": "not_found",
                     *         "message": "The resource does not exist.",
                     *         "details": null
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Error"];
                };
            };
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    markAllNotificationsRead: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every notification of the caller is read. */
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
            401: components["responses"]["Unauthorized"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    streamEvents: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description The `id` of the last notification the client received (EventSource sends it on
                 *     reconnection). The stream first sends, oldest first, every stored notification of the
                 *     caller newer than it (at most 500), then live ones. Absent, or a value that is not the
                 *     id of one of the caller's notifications: live notifications only.
                 * @example 01JD7QHADG5W2HZ8M4KC6RT0QN
                 */
                "Last-Event-ID"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The event stream (open until the token expires, the stream is replaced or the client leaves). */
            200: {
                headers: {
                    "X-Request-ID": components["headers"]["X-Request-ID"];
                    "X-RateLimit-Limit": components["headers"]["X-RateLimit-Limit"];
                    "X-RateLimit-Remaining": components["headers"]["X-RateLimit-Remaining"];
                    "X-RateLimit-Reset": components["headers"]["X-RateLimit-Reset"];
                    /** @description `no-store`: the stream is never cached. */
                    "Cache-Control": string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example retry: 3000
                     *
                     *     id: 01JD4R0BWJ8T3QK5V7XN2M9PRD
                     *     event: notification
                     *     data: {"id":"01JD4R0BWJ8T3QK5V7XN2M9PRD","type":"call_incoming","data":{"call_id":"01JD4R0B2Q3ZK6Y8N1W5X7V9TC","link_id":"01JD2SDKWPME3HY6QDYDRDWJNP","short_code":"Xk3P9qRt2Z","guest_display_name":"Gina","rate_per_minute":"3.00","window_size_minutes":10},"created_at":"2024-11-20T12:15:57.842Z","read_at":null}
                     *
                     *     : heartbeat
                     */
                    "text/event-stream": string;
                };
            };
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
        };
    };
    connectSignaling: {
        parameters: {
            query?: {
                /**
                 * @description The signaling token (`st_` + 43 base64url characters) from `POST /v1/calls/initiate`,
                 *     `POST /v1/calls/{id}/join` or `POST /v1/calls/{id}/signaling-token`: single use, valid
                 *     5 minutes, bound to one call and one participant. Missing or not valid: `401`.
                 * @example st_Q2x5YjN0R2s4cFZ6TjFtV3hBcUU5ZkRoUjdzTGQwYlk
                 */
                token?: string;
                /**
                 * @description The call the client means to join; refused when it is not the token's.
                 * @example 01JGQ3W8ZV6N4K2H8T5R7M9PXA
                 */
                call_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Switching Protocols; the signaling session begins (see docs/signaling.md). No body. */
            101: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["ValidationError"];
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["Overloaded"];
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
    vappVoiceAnswer: never;
    vappVoiceAnswerPost: never;
    vappVoiceEvents: never;
    vappRtcEvents: never;
    vappMetrics: never;
    getHealth: never;
    getReady: never;
    getVappHealth: never;
    getJwks: never;
    getOpenApiDocument: never;
    getAsyncApiDocument: never;
    getDocs: never;
    getMedia: never;
    getGuestPage: never;
    getHostConsole: never;
    getWebAsset: never;
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
    deleteMyAccount: "accessToken";
    exportMyData: "accessToken";
    setMyAvatar: "accessToken";
    listUsers: "accessToken";
    deleteUser: "accessToken";
    setUserRole: "accessToken";
    listAuditLog: "accessToken";
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
    createSetupIntent: "accessToken";
    createGuestSetupIntent: "guestToken";
    getConnectStatus: "accessToken";
    createConnectOnboarding: "accessToken";
    createConnectDashboardLink: "accessToken";
    getEarnings: "accessToken";
    listPayouts: "accessToken";
    stripeWebhook: never;
    refundPayment: "accessToken";
    listNotifications: "accessToken";
    getUnreadNotificationCount: "accessToken";
    markNotificationRead: "accessToken";
    markAllNotificationsRead: "accessToken";
    streamEvents: "accessToken";
    connectSignaling: never;
}
