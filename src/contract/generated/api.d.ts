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
         *     5 MiB (MAX_IMAGE_BYTES). The picture becomes the caller's `image_url` (and v1 `avatar_url`);
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
                /** @description `null`, or for `validation_error` an object mapping each offending field (dotted path) to a message. */
                details: Record<string, never> | null;
            };
        };
        /** @description The V-app error shape. */
        VappError: {
            /** @enum {string} */
            type: "data:validation" | "data:notfound" | "auth:unauthorized" | "auth:missingtoken" | "auth:badtoken" | "auth:missinguserid" | "rate:limited" | "server:error" | "server:unavailable";
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
        /** @description `validation_error`. */
        ValidationError: {
            headers: {
                "X-Request-ID": components["headers"]["X-Request-ID"];
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
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
    };
    parameters: never;
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
}
