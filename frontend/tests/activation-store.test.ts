import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('@/platform', () => ({ API_BASE_URL: '' }))

const api = vi.hoisted(() => ({
  submitRealName: vi.fn(),
  startLiveness: vi.fn(),
  simulateLiveness: vi.fn(),
  verifyLiveness: vi.fn(),
  submitPin: vi.fn(),
}))
vi.mock('@/api/activation', () => api)

import { createPinia, setActivePinia } from 'pinia'
import { useActivationStore } from '@/stores/activation'
import { ApiError } from '@/http/errors'

const PERSON = { name: '胡洁秀', id_number_masked: '440***********780X', insutype: '310', insured_region: '440100' }
const CHALLENGE = {
  session_id: 's1', nonce: 'n1', actions: ['blink', 'open_mouth'], expires_at: '2099-01-01T00:00:00Z',
  provider: 'simulator', provider_url: '/liveness-sim/',
}
const SIGNED = { result: { nonce: 'n1', subject: 'x', score: 0.97, passed: true, issued_at: 1 }, signature: 'sig' }
const AUTH = { id: 7, channel: 'wechat', channel_name: '微信', status: 'active', created_at: '2026-01-05T10:00:00+08:00' }

beforeEach(() => {
  setActivePinia(createPinia())
  for (const fn of Object.values(api)) fn.mockReset()
})

describe('activation store', () => {
  it('walks 身份信息 → 人脸识别 → 支付密码 → 完成, passing the provider result verbatim', async () => {
    const store = useActivationStore()
    api.submitRealName.mockResolvedValue({ activation_id: 'a1', next: 'liveness', person: PERSON, pin_mode: 'new' })
    api.startLiveness.mockResolvedValue(CHALLENGE)
    api.simulateLiveness.mockResolvedValue(SIGNED)
    api.verifyLiveness.mockResolvedValue({ next: 'pin', pin_mode: 'new' })
    api.submitPin.mockResolvedValue({ next: 'done', voucher: { status: 'active' }, authorization: AUTH })

    expect(await store.submitIdentity(' 胡洁秀 ', '44010019880329780x')).toBe(true)
    expect(api.submitRealName).toHaveBeenCalledWith('胡洁秀', '44010019880329780X')
    expect(store.step).toBe('liveness')
    expect(store.person).toEqual(PERSON)

    await store.beginLiveness()
    expect(store.challenge).toEqual(CHALLENGE)

    expect(await store.finishLiveness('pass')).toBe(true)
    expect(api.simulateLiveness).toHaveBeenCalledWith(CHALLENGE, 'pass')
    expect(api.verifyLiveness).toHaveBeenCalledWith('a1', SIGNED)
    expect(store.step).toBe('pin')
    expect(store.stepIndex).toBe(2)

    expect(await store.submitPin('258036', '258036')).toBe(true)
    expect(api.submitPin).toHaveBeenCalledWith('a1', '258036', '258036')
    expect(store.step).toBe('done')
    expect(store.authorization).toEqual(AUTH)
  })

  it('existing PIN mode sends no confirmation', async () => {
    const store = useActivationStore()
    api.submitRealName.mockResolvedValue({ activation_id: 'a2', next: 'liveness', person: PERSON, pin_mode: 'existing' })
    api.submitPin.mockResolvedValue({ next: 'done', voucher: { status: 'active' }, authorization: AUTH })
    await store.submitIdentity('胡洁秀', '44010019880329780X')
    expect(store.pinMode).toBe('existing')
    await store.submitPin('258036')
    expect(api.submitPin).toHaveBeenCalledWith('a2', '258036', undefined)
  })

  it('keeps the error and the step on failure; retry repeats the failed request', async () => {
    const store = useActivationStore()
    const unavailable = new ApiError({ kind: 'http', code: 'CORE_UNAVAILABLE', message: '医保服务暂不可用', status: 503 })
    api.submitRealName
      .mockRejectedValueOnce(unavailable)
      .mockResolvedValueOnce({ activation_id: 'a3', next: 'liveness', person: PERSON, pin_mode: 'new' })
    expect(await store.submitIdentity('胡洁秀', '44010019880329780X')).toBe(false)
    expect(store.error).toBe(unavailable)
    expect(store.step).toBe('identity')
    expect(store.busy).toBe(false)
    expect(await store.retry()).toBe(true)
    expect(store.error).toBeNull()
    expect(store.step).toBe('liveness')
  })

  it('a liveness refusal stays on the liveness step; a new challenge can be asked for', async () => {
    const store = useActivationStore()
    api.submitRealName.mockResolvedValue({ activation_id: 'a4', next: 'liveness', person: PERSON, pin_mode: 'new' })
    api.startLiveness.mockResolvedValueOnce(CHALLENGE).mockResolvedValueOnce({ ...CHALLENGE, nonce: 'n2' })
    api.simulateLiveness.mockResolvedValue(SIGNED)
    api.verifyLiveness.mockRejectedValue(
      new ApiError({ kind: 'business', code: 'LIVENESS_FACE_MISMATCH', message: '人脸比对未通过', status: 400 }),
    )
    await store.submitIdentity('胡洁秀', '44010019880329780X')
    await store.beginLiveness()
    expect(await store.finishLiveness('face_mismatch')).toBe(false)
    expect(store.error?.code).toBe('LIVENESS_FACE_MISMATCH')
    expect(store.step).toBe('liveness')
    await store.beginLiveness()
    expect(store.error).toBeNull()
    expect(store.challenge?.nonce).toBe('n2')
  })
})
