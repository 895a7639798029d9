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

/** A full disk is no bug of ours: 507, and the operator is told by the log. Other errors pass through. */
export function storageError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  return new ApiError(507, 'insufficient_storage', 'no space left for packages; try again later', undefined, undefined, { cause: err });
}
