import { describe, expect, it } from 'vitest'
import {
  GENERIC_ACTION_LABEL,
  KNOWN_ERROR_CODES,
  WIZARD_STEPS,
  adviceFor,
  errorActionLabel,
  idNumberProblem,
  livenessActionLabel,
  nameProblem,
  normaliseIdNumber,
} from '@/utils/activation'
import { simulatorResultUrl } from '@/api/activation'

// Every code of the error table in docs/subsystems/activation.md.
const CONTRACT_CODES = [
  'UNAUTHENTICATED', 'CHANNEL_INVALID', 'ID_NUMBER_INVALID', 'NAME_MISMATCH', 'NOT_ENROLLED',
  'ENROLMENT_SUSPENDED', 'REGION_NOT_OPEN', 'ALREADY_ACTIVATED', 'LOGIN_BOUND_TO_OTHER_PERSON',
  'TOO_MANY_ATTEMPTS', 'CORE_UNAVAILABLE', 'ACTIVATION_NOT_FOUND', 'ACTIVATION_STEP_ORDER',
  'LIVENESS_SIGNATURE_INVALID', 'LIVENESS_NONCE_UNKNOWN', 'LIVENESS_EXPIRED', 'LIVENESS_REPLAYED',
  'LIVENESS_SUBJECT_MISMATCH', 'LIVENESS_NOT_LIVE', 'LIVENESS_FACE_MISMATCH', 'PIN_FORMAT',
  'PIN_CONFIRM_MISMATCH', 'PIN_WEAK_REPEATED', 'PIN_WEAK_SEQUENCE', 'PIN_WEAK_BIRTHDAY',
  'PIN_WEAK_ID_SUFFIX', 'PIN_INCORRECT', 'PIN_LOCKED', 'AUTHORIZATION_NOT_FOUND',
]

describe('identity input checks', () => {
  it('accepts 17 digits + digit or X, upper-casing x and dropping spaces', () => {
    expect(normaliseIdNumber(' 44010019880329780x ')).toBe('44010019880329780X')
    expect(idNumberProblem('44010019880329780x')).toBe('')
    expect(idNumberProblem('110100198408225279')).toBe('')
  })

  it('explains a wrong length or character set in Chinese', () => {
    expect(idNumberProblem('')).toBe('请输入身份证号')
    expect(idNumberProblem('1234')).toBe('身份证号应为18位，当前为4位')
    expect(idNumberProblem('11010019840822527A')).toMatch(/最后一位为数字或X/)
    expect(idNumberProblem('X10100198408225279')).toMatch(/前17位应为数字/)
  })

  it('requires a name', () => {
    expect(nameProblem('  ')).toBe('请输入姓名')
    expect(nameProblem('胡洁秀')).toBe('')
  })
})

describe('liveness actions', () => {
  it('maps known actions to Chinese and unknown ones to a generic label', () => {
    expect(livenessActionLabel('blink')).toBe('眨眨眼')
    expect(livenessActionLabel('turn_head')).toBe('左右转头')
    expect(livenessActionLabel('open_mouth')).toBe('张张嘴')
    expect(livenessActionLabel('wiggle_ears')).toBe(GENERIC_ACTION_LABEL)
  })

  it('builds the simulator URL from provider_url', () => {
    expect(simulatorResultUrl('/liveness-sim/', 'n1')).toBe('/liveness-sim/api/sessions/n1/result')
    expect(simulatorResultUrl('https://sim.example/x', 'a b')).toBe('https://sim.example/x/api/sessions/a%20b/result')
  })
})

describe('error advice', () => {
  it('covers every code of the contract with a title, advice and an action', () => {
    for (const code of CONTRACT_CODES) {
      expect(KNOWN_ERROR_CODES, code).toContain(code)
      const advice = adviceFor(code)
      expect(advice.title, code).not.toBe('')
      expect(advice.advice, code).not.toBe('')
      expect(errorActionLabel(advice.action), code).not.toBe('')
    }
  })

  it('gives the advice the brief asks for', () => {
    expect(adviceFor('NOT_ENROLLED').advice).toContain('请确认已参保或联系参保地医保经办机构')
    expect(adviceFor('REGION_NOT_OPEN').advice).toContain('您的参保地暂未开通医保电子凭证服务')
    expect(adviceFor('TOO_MANY_ATTEMPTS').advice).toContain('稍后再试')
    expect(adviceFor('LIVENESS_FACE_MISMATCH').advice).toContain('重新进行人脸识别')
    expect(adviceFor('LIVENESS_NOT_LIVE')).toMatchObject({ action: 'liveness', inline: false })
    expect(adviceFor('PIN_WEAK_REPEATED')).toMatchObject({ action: 'pin', inline: true })
    expect(adviceFor('PIN_WEAK_SEQUENCE').advice).toContain('123456')
    expect(adviceFor('PIN_WEAK_BIRTHDAY').advice).toContain('生日')
    expect(adviceFor('PIN_WEAK_ID_SUFFIX').advice).toContain('身份证号的后6位')
  })

  it('uses detail: tries_left, locked_until, retry_after', () => {
    expect(adviceFor('PIN_INCORRECT', { tries_left: 3 }).advice).toContain('还可以尝试 3 次')
    const locked = adviceFor('PIN_LOCKED', { locked_until: '2026-01-05T10:00:00+08:00' }, () => '2026-01-05 10:00')
    expect(locked.advice).toContain('锁定至 2026-01-05 10:00')
    expect(locked.advice).not.toMatch(/找回|重置/) // no PIN reset exists yet: point to help instead
    expect(locked.advice).toMatch(/12393/)
    expect(adviceFor('TOO_MANY_ATTEMPTS', { retry_after: 600 }).advice).toContain('约10分钟后再试')
  })

  it('falls back for unknown codes and treats 5xx like an unavailable service', () => {
    expect(adviceFor('SOMETHING_NEW')).toMatchObject({ action: 'retry' })
    expect(adviceFor('HTTP_502').title).toBe('医保服务暂时不可用')
  })

  it('lists the four wizard steps in order', () => {
    expect(WIZARD_STEPS.map((s) => s.label)).toEqual(['身份信息', '人脸识别', '支付密码', '完成'])
  })
})
