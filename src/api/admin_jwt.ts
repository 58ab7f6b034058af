import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
} from "jose";
import type { JWTPayload, JWTVerifyGetKey } from "jose";
import { z } from "zod";
import type { Env } from "../config/env.ts";
import type { AdminVerifier, Principal } from "../http/auth.ts";
import { HttpError } from "../http/responses.ts";

/** Where admin tokens' keys come from. */
export interface AdminJwtKeys {
  /** Asymmetric keys (ES256/RS256): the project's JWKS, inline or fetched. */
  jwks?: JWTVerifyGetKey;
  /** The legacy shared HS256 secret. */
  secret?: Uint8Array;
}

const jwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) });

const claimsSchema = z.object({
  sub: z.string().min(1),
  email: z.string().optional(),
  app_metadata: z.object({ role: z.string().optional() }).loose().optional(),
}).loose();

/**
 * The keys admin JWTs are verified with, from the environment: `SUPABASE_JWKS`
 * (inline JSON), else the auth server's `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`,
 * plus `SUPABASE_JWT_SECRET` for HS256. Undefined when none is configured.
 *
 * @throws {Error} when SUPABASE_JWKS is not a JWKS.
 */
export function adminJwtKeysFromEnv(env: Env): AdminJwtKeys | undefined {
  let jwks: JWTVerifyGetKey | undefined;
  if (env.SUPABASE_JWKS) {
    let parsed: z.infer<typeof jwksSchema>;
    try {
      parsed = jwksSchema.parse(JSON.parse(env.SUPABASE_JWKS));
    } catch {
      throw new Error('Cannot parse SUPABASE_JWKS: expected JSON like {"keys": [...]}');
    }
    jwks = createLocalJWKSet(parsed as Parameters<typeof createLocalJWKSet>[0]);
  } else if (env.SUPABASE_URL) {
    const url = new URL("/auth/v1/.well-known/jwks.json", env.SUPABASE_URL);
    jwks = createRemoteJWKSet(url, { timeoutDuration: 3_000, cacheMaxAge: 10 * 60_000 });
  }
  const secret = env.SUPABASE_JWT_SECRET
    ? new TextEncoder().encode(env.SUPABASE_JWT_SECRET)
    : undefined;
  return jwks || secret ? { jwks, secret } : undefined;
}

async function verify(token: string, keys: AdminJwtKeys): Promise<JWTPayload> {
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new HttpError(401, "unauthorized", "Invalid token: malformed JWT header");
  }
  // Supabase signs signed-in users' tokens for the "authenticated" audience; anon
  // and service tokens carry other roles. The issuer is not checked: inside the
  // local stack SUPABASE_URL (kong) differs from the URL the tokens name.
  const options = { clockTolerance: 5, audience: "authenticated" };
  if (alg === "HS256") {
    if (!keys.secret) {
      throw new HttpError(401, "unauthorized", "Invalid token: HS256 tokens are not accepted");
    }
    return (await jwtVerify(token, keys.secret, { ...options, algorithms: ["HS256"] })).payload;
  }
  if (!keys.jwks) {
    throw new HttpError(401, "unauthorized", `Invalid token: ${alg} tokens are not accepted`);
  }
  return (await jwtVerify(token, keys.jwks, {
    ...options,
    algorithms: ["ES256", "RS256", "EdDSA"],
  }))
    .payload;
}

/**
 * Verifies a Supabase user JWT and admits it as an admin when
 * `app_metadata.role` is `admin`.
 *
 * @throws {HttpError} 401 for an expired, malformed or wrongly signed token; 403
 * for a valid token of a user who is not an admin; 503 when the JWKS cannot be fetched.
 */
export function createAdminVerifier(keys: AdminJwtKeys): AdminVerifier {
  return async (token: string): Promise<Principal> => {
    let payload: JWTPayload;
    try {
      payload = await verify(token, keys);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (error instanceof errors.JWTExpired) {
        throw new HttpError(401, "unauthorized", "Invalid token: expired");
      }
      if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSENotSupported) {
        throw new HttpError(503, "jwks_unavailable", "Cannot verify token: JWKS unavailable");
      }
      if (error instanceof errors.JOSEError) {
        throw new HttpError(401, "unauthorized", `Invalid token: ${error.code}`);
      }
      throw new HttpError(503, "jwks_unavailable", "Cannot verify token: JWKS unavailable");
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      throw new HttpError(401, "unauthorized", "Invalid token: missing subject");
    }
    if (claims.data.app_metadata?.role !== "admin") {
      throw new HttpError(403, "forbidden", "This user is not an admin (app_metadata.role)");
    }
    return { kind: "admin", userId: claims.data.sub, email: claims.data.email };
  };
}

/** The admin verifier the environment configures, or undefined (JWTs then get 401). */
export function adminVerifierFromEnv(env: Env): AdminVerifier | undefined {
  const keys = adminJwtKeysFromEnv(env);
  return keys ? createAdminVerifier(keys) : undefined;
}
