import { ApiError } from '@mosis/shared';

/** 409: the version has no package whose signature verified (submit, approve, publish). */
export function packageMissing(): ApiError {
  return new ApiError(409, 'package_missing', 'upload the package first (PUT .../package): a version needs a package with a verified signature');
}

/** 422: the version's signature is not one of the caller's active keys' over these bytes. */
export function signatureMismatch(message: string, details?: unknown): ApiError {
  return new ApiError(422, 'signature_mismatch', message, details);
}

/** The same error with more response headers (an upload refused before its body was read closes the connection). */
export function withHeaders(err: ApiError, headers: Record<string, string>): ApiError {
  return new ApiError(err.status, err.code, err.message, err.details, { ...err.headers, ...headers }, { cause: err.cause });
}
