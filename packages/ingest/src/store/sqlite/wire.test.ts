import { randomBytes } from 'node:crypto';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { CrashRecord, EventRecord, WriteRequest } from '../types.js';
import { decodeBatch, encodeBatch } from './wire.js';

const ev = (over: Partial<EventRecord> = {}): EventRecord => ({
  appId: 'app-1',
  packageId: 'com.dev.app',
  deviceHash: -1234567890123456789n,
  eventType: 'app_open',
  timestamp: 1_764_000_000_123,
  eventId: randomBytes(16),
  mosisVersion: '1.4.2',
  appVersion: null,
  data: '{"screen":"home"}',
  ...over,
});

const crash: CrashRecord = {
  appId: 'app-2', packageId: 'com.dev.other', deviceHash: 42n, timestamp: 1_764_000_000_000, crashId: randomBytes(16), fingerprint: 'f'.repeat(16),
  crashType: 'NullPointerException', appVersion: '2.0', message: null, stackTrace: 'at x', context: null, mosisVersion: null,
};

describe('writer thread wire encoding', () => {
  it('gives the writer thread every request and row as the main thread had them, through a real message port', () => {
    const requests: WriteRequest[] = [
      { kind: 'events', rows: [ev(), ev({ eventId: null, data: null, appVersion: '3.1', eventType: 'screen_view' }), ev({ appId: 'app-2', packageId: 'com.dev.other', mosisVersion: null })] },
      { kind: 'crashes', rows: [crash] },
      { kind: 'events', rows: [] },
      { kind: 'events', rows: [ev({ deviceHash: 2n ** 63n - 1n, timestamp: 0 })] },
    ];
    const { batch, transfer } = encodeBatch(requests);
    const { port1, port2 } = new MessageChannel();
    port1.postMessage(batch, transfer);
    const received = receiveMessageOnPort(port2)!.message as typeof batch;
    port1.close();
    expect(decodeBatch(received)).toEqual(requests);
    // Transferred, not copied: the main thread's side gave its buffers away.
    expect(batch.ids.byteLength).toBe(0);
  });
});
