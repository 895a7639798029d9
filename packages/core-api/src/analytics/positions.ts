import { InvalidPositionError } from '@mosis/ingest';
import { ApiError } from '@mosis/shared';

/**
 * Runs a telemetry read that was handed a client's cursor or tail position: one the store did not give out
 * is a 400 `invalid_query` naming the parameter, never a 500.
 */
export async function withPosition<T>(param: 'cursor' | 'after', read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof InvalidPositionError)) throw err;
    const what = param === 'after' ? 'the `head` of an earlier answer' : 'the `next_cursor` of the previous page';
    throw new ApiError(400, 'invalid_query', `${param}: not a position this list gave out; send ${what} unchanged`, undefined, undefined, { cause: err });
  }
}
