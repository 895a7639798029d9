import { ApiError } from '@mosis/shared';
import { describe, expect, it } from 'vitest';
import { storageError } from './errors.js';

describe('storageError', () => {
  it.each(['ENOSPC', 'EDQUOT'])('turns %s into 507 insufficient_storage', (code) => {
    const err = storageError(Object.assign(new Error('write failed'), { code }));
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 507, code: 'insufficient_storage' });
  });

  it('passes other errors through', () => {
    const err = Object.assign(new Error('io'), { code: 'EIO' });
    expect(storageError(err)).toBe(err);
  });
});
