import * as api from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { tracingOff } from '../../src/telemetry.js';

afterEach(() => api.trace.disable());

describe('tracingOff', () => {
  it('is true while the API has no SDK behind it, false once a tracer provider is registered, and true again after', () => {
    expect(tracingOff(api)).toBe(true);
    api.trace.setGlobalTracerProvider(new BasicTracerProvider());
    expect(tracingOff(api)).toBe(false);
    api.trace.disable();
    expect(tracingOff(api)).toBe(true);
  });
});
