import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

// The HTTP image fetches and the platform's image encoding are the boundary; the composable is real.
vi.mock('@/platform', () => ({ CODE_IMAGE_FORMAT: 'svg', imageDataUrl: (body: string) => `data:${body}` }))
vi.mock('@/api/code', () => ({
  getCodeSvg: vi.fn(async (kind: string, code: string) => `${kind}:${code}`),
  getCodePng: vi.fn(),
}))

import { getCodeSvg } from '@/api/code'
import { useCodeDisplay } from '@/composables/useCodeDisplay'
import { clockOffset } from '@/utils/code'

const T = 30
const code = (step: number, extra: Record<string, unknown> = {}) => ({
  code: `88${step}`, step, step_seconds: T, valid_from: step * T, expires_at: (step + 1) * T,
  valid_until: (step + 2) * T, ...extra,
})

beforeEach(() => {
  vi.useFakeTimers()
  vi.setSystemTime(1000 * T * 1000 + 10_000) // 10 s into step 1000
  vi.mocked(getCodeSvg).mockClear()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('a code sent early (issue #16)', () => {
  it('is kept aside with its images fetched, and shown exactly at its valid_from', async () => {
    const display = useCodeDisplay()
    display.start()
    await display.show(code(1000))
    expect(display.shown.value?.step).toBe(1000)
    vi.setSystemTime(1001 * T * 1000 - 5_000) // 5 s before the boundary
    await display.show(code(1001, { early: true }))
    expect(display.shown.value?.step).toBe(1000) // still the current one
    expect(display.upcoming.value?.step).toBe(1001)
    expect(vi.mocked(getCodeSvg).mock.calls.map((c) => c[1])).toContain('881001') // prefetched
    await vi.advanceTimersByTimeAsync(4_990)
    expect(display.shown.value?.step).toBe(1000) // 10 ms before the boundary
    await vi.advanceTimersByTimeAsync(20)
    expect(display.shown.value?.step).toBe(1001) // switched at the boundary
    expect(display.imageCode.value).toBe('881001') // with its QR ready, not fetched again
    expect(display.qrSrc.value).toBe('data:qr:881001')
    expect(vi.mocked(getCodeSvg).mock.calls.filter((c) => c[1] === '881001')).toHaveLength(2)
    display.stop()
  })

  it('a fresh current code (scan, refresh) is shown at once and keeps the early one waiting', async () => {
    const display = useCodeDisplay()
    display.start()
    vi.setSystemTime(1001 * T * 1000 - 3_000)
    await display.show(code(1001, { early: true }))
    await display.show(code(1000, { code: '88refreshed' }))
    expect(display.shown.value?.code).toBe('88refreshed')
    await vi.advanceTimersByTimeAsync(3_010)
    expect(display.shown.value?.step).toBe(1001)
    display.stop()
  })

  it('the clock is corrected from the step before an early code', () => {
    const early = code(1001, { early: true })
    expect(clockOffset(early, 1001 * T - 2)).toBe(0) // 2 s before its step: right
    expect(clockOffset(early, 1001 * T + 5)).toBeCloseTo(-5.5) // device clock ahead: pulled back
    expect(clockOffset(code(1001), 1001 * T + 5)).toBe(0) // a current code: as before
  })
})
