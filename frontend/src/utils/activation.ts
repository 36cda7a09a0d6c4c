/**
 * Activation wizard helpers: client-side input checks, liveness action labels
 * and the per-error-code advice. Pure (no uni, no platform, no store).
 *
 * The server is authoritative for every rule: the checks here only catch
 * typos early (length and character set), and the advice is added to the
 * server's own `message`, never replaces it.
 */

import { FAMILY_ADVICE } from './family'

export type WizardStep = 'identity' | 'liveness' | 'pin' | 'done'

export const WIZARD_STEPS: ReadonlyArray<{ key: WizardStep; label: string }> = [
  { key: 'identity', label: '身份信息' },
  { key: 'liveness', label: '人脸识别' },
  { key: 'pin', label: '支付密码' },
  { key: 'done', label: '完成' },
]

/** 18 characters: 17 digits and a digit or X. Lower-case x is accepted and upper-cased. */
export function normaliseIdNumber(value: string): string {
  return value.replace(/\s+/g, '').toUpperCase()
}

/** Why an ID number cannot be right, in Chinese; '' when its format is plausible. */
export function idNumberProblem(value: string): string {
  const id = normaliseIdNumber(value)
  if (id === '') return '请输入身份证号'
  if (id.length !== 18) return `身份证号应为18位，当前为${id.length}位`
  if (!/^\d{17}[\dX]$/.test(id)) return '身份证号前17位应为数字，最后一位为数字或X'
  return ''
}

export function nameProblem(value: string): string {
  const name = value.trim()
  if (name === '') return '请输入姓名'
  if (name.length > 50) return '姓名过长'
  return ''
}

export const LIVENESS_ACTION_LABELS: Record<string, string> = {
  blink: '眨眨眼',
  turn_head: '左右转头',
  open_mouth: '张张嘴',
  nod: '点点头',
}

export const GENERIC_ACTION_LABEL = '按提示完成动作'

export function livenessActionLabel(action: string): string {
  return LIVENESS_ACTION_LABELS[action] ?? GENERIC_ACTION_LABEL
}

export const PIN_LENGTH = 6

/** What the person can do about an error. */
export type ErrorAction =
  | 'edit' // fix the identity form and submit again
  | 'liveness' // start a new liveness challenge
  | 'pin' // enter the PIN again (stays on the PIN pad)
  | 'restart' // start the wizard over
  | 'retry' // repeat the request that failed
  | 'home' // nothing to do here: back to the home page
  | 'login' // sign in again (another account)

export interface ErrorAdvice {
  /** Short heading of the error screen. */
  title: string
  /** What to do next, shown under the server's message. */
  advice: string
  /** The primary way out. */
  action: ErrorAction
  /** Inline (above the form / PIN pad) rather than a full error screen. */
  inline: boolean
}

const ACTION_LABELS: Record<ErrorAction, string> = {
  edit: '重新填写',
  liveness: '重新进行人脸识别',
  pin: '重新输入',
  restart: '重新开始激活',
  retry: '重试',
  home: '返回首页',
  login: '重新登录',
}

export function errorActionLabel(action: ErrorAction): string {
  return ACTION_LABELS[action]
}

const LIVENESS_RETRY = '请重新进行人脸识别'

const ADVICE: Record<string, ErrorAdvice> = {
  UNAUTHENTICATED: { title: '登录已失效', advice: '请重新登录后继续', action: 'login', inline: false },
  CHANNEL_INVALID: { title: '登录信息有误', advice: '请选择渠道并填写 openid 后重新登录', action: 'login', inline: true },
  VALIDATION_ERROR: { title: '提交的信息有误', advice: '请检查填写的内容后重新提交', action: 'edit', inline: true },
  ID_NUMBER_INVALID: {
    title: '身份证号有误',
    advice: '请核对18位居民身份证号（含最后一位校验码，X 为大写）后重新填写',
    action: 'edit',
    inline: true,
  },
  NAME_MISMATCH: {
    title: '姓名与身份证号不一致',
    advice: '请填写与身份证完全一致的姓名；少数民族姓名请注意间隔号「·」',
    action: 'edit',
    inline: true,
  },
  NOT_ENROLLED: {
    title: '未查询到参保信息',
    advice: '请确认已参保或联系参保地医保经办机构',
    action: 'edit',
    inline: false,
  },
  REAL_NAME_NOT_VERIFIED: {
    title: '实名信息未通过核验',
    advice: '请核对姓名与18位居民身份证号是否与证件一致；如确认无误，请联系参保地医保经办机构或拨打医保服务热线 12393',
    action: 'edit',
    inline: false,
  },
  ENROLMENT_SUSPENDED: {
    title: '参保状态为暂停',
    advice: '参保暂停期间不能激活医保电子凭证，请联系参保地医保经办机构或单位经办人恢复参保后再试',
    action: 'home',
    inline: false,
  },
  REGION_NOT_OPEN: {
    title: '参保地暂未开通',
    advice: '您的参保地暂未开通医保电子凭证服务，开通后即可激活；在此之前就医购药请使用社会保障卡',
    action: 'home',
    inline: false,
  },
  ALREADY_ACTIVATED: {
    title: '已激活',
    advice: '您已在本渠道激活医保电子凭证，返回首页即可使用',
    action: 'home',
    inline: false,
  },
  LOGIN_BOUND_TO_OTHER_PERSON: {
    title: '当前账号已绑定其他参保人',
    advice: '一个渠道账号只能激活本人的医保电子凭证，请使用本人账号登录；为家人办理请使用亲情账户',
    action: 'login',
    inline: false,
  },
  TOO_MANY_ATTEMPTS: {
    title: '操作过于频繁',
    advice: '为保护您的信息安全，请稍后再试',
    action: 'home',
    inline: false,
  },
  CORE_UNAVAILABLE: {
    title: '医保服务暂时不可用',
    advice: '医保信息系统暂时无法连接，请稍后再试',
    action: 'retry',
    inline: false,
  },
  ACTIVATION_NOT_FOUND: {
    title: '激活流程已失效',
    advice: '本次激活已超时或已结束，请重新开始激活',
    action: 'restart',
    inline: false,
  },
  ACTIVATION_STEP_ORDER: {
    title: '激活步骤顺序有误',
    advice: '请按 身份信息 → 人脸识别 → 支付密码 的顺序完成，请重新开始激活',
    action: 'restart',
    inline: false,
  },
  LIVENESS_SIGNATURE_INVALID: { title: '人脸识别结果无效', advice: LIVENESS_RETRY, action: 'liveness', inline: false },
  LIVENESS_NONCE_UNKNOWN: { title: '人脸识别结果无效', advice: LIVENESS_RETRY, action: 'liveness', inline: false },
  LIVENESS_EXPIRED: {
    title: '人脸识别已超时',
    advice: '请在5分钟内完成人脸识别，' + LIVENESS_RETRY,
    action: 'liveness',
    inline: false,
  },
  LIVENESS_REPLAYED: { title: '人脸识别结果已使用', advice: LIVENESS_RETRY, action: 'liveness', inline: false },
  LIVENESS_SUBJECT_MISMATCH: {
    title: '识别结果与本人不符',
    advice: '请由本人完成人脸识别，' + LIVENESS_RETRY,
    action: 'liveness',
    inline: false,
  },
  LIVENESS_NOT_LIVE: {
    title: '活体检测未通过',
    advice: '请本人按提示完成动作，不要使用照片或视频，' + LIVENESS_RETRY,
    action: 'liveness',
    inline: false,
  },
  LIVENESS_FACE_MISMATCH: {
    title: '人脸比对未通过',
    advice: '请本人正对屏幕、保持光线充足，摘下帽子、口罩和眼镜后重新进行人脸识别',
    action: 'liveness',
    inline: false,
  },
  PIN_FORMAT: { title: '支付密码格式有误', advice: '支付密码须为6位数字', action: 'pin', inline: true },
  PIN_CONFIRM_MISMATCH: {
    title: '两次输入的密码不一致',
    advice: '请重新设置支付密码，并再次输入相同的6位数字',
    action: 'pin',
    inline: true,
  },
  PIN_WEAK_REPEATED: {
    title: '支付密码过于简单',
    advice: '不能使用全部相同的数字（如 111111），请重新设置',
    action: 'pin',
    inline: true,
  },
  PIN_WEAK_SEQUENCE: {
    title: '支付密码过于简单',
    advice: '不能使用连续的数字（如 123456、654321），请重新设置',
    action: 'pin',
    inline: true,
  },
  PIN_WEAK_BIRTHDAY: {
    title: '支付密码过于简单',
    advice: '不能使用与出生日期相关的数字（如生日 YYMMDD、MMDD），请重新设置',
    action: 'pin',
    inline: true,
  },
  PIN_WEAK_ID_SUFFIX: {
    title: '支付密码过于简单',
    advice: '不能使用身份证号的后6位，请重新设置',
    action: 'pin',
    inline: true,
  },
  PIN_INCORRECT: {
    title: '支付密码错误',
    advice: '请输入在其他渠道激活时设置的支付密码',
    action: 'pin',
    inline: true,
  },
  PIN_LOCKED: {
    title: '支付密码已锁定',
    advice: '连续输错次数过多，支付密码已锁定，到期后自动解锁。如需帮助请拨打医保服务热线 12393',
    action: 'home',
    inline: false,
  },
  // Codes the backend raises beyond the contract's table:
  VOUCHER_UNAVAILABLE: {
    title: '医保电子凭证不可用',
    advice: '您的医保电子凭证已被冻结或注销，请联系参保地医保经办机构，或拨打医保服务热线 12393',
    action: 'home',
    inline: false,
  },
  NOT_ACTIVATED: {
    title: '尚未激活',
    advice: '请先在首页激活医保电子凭证',
    action: 'home',
    inline: false,
  },
  LIVENESS_SESSION_NOT_FOUND: {
    title: '人脸识别已失效',
    advice: '本次人脸识别已超时或已结束，' + LIVENESS_RETRY,
    action: 'liveness',
    inline: false,
  },
  AUTHORIZATION_NOT_FOUND: {
    title: '授权记录不存在',
    advice: '该授权可能已被解除，请刷新后重试',
    action: 'retry',
    inline: false,
  },
  NETWORK_ERROR: { title: '网络连接失败', advice: '请检查网络后重试', action: 'retry', inline: false },
  NETWORK_TIMEOUT: { title: '网络请求超时', advice: '请检查网络后重试', action: 'retry', inline: false },
}

const FALLBACK: ErrorAdvice = {
  title: '操作未成功',
  advice: '请稍后重试；如仍有问题，请拨打医保服务热线 12393',
  action: 'retry',
  inline: false,
}

/** Every code this module knows (the contract's table plus transport codes). */
export const KNOWN_ERROR_CODES: readonly string[] = Object.keys(ADVICE)

function minutesText(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))}秒`
  return `${Math.ceil(seconds / 60)}分钟`
}

/**
 * Advice for an error code. `detail` sharpens it where the contract gives
 * structured context: tries_left (PIN_INCORRECT), locked_until (PIN_LOCKED),
 * retry_after seconds (TOO_MANY_ATTEMPTS).
 */
export function adviceFor(
  code: string,
  detail: Record<string, unknown> = {},
  formatTime: (iso: string) => string = (iso) => iso,
): ErrorAdvice {
  const base = ADVICE[code] ?? FAMILY_ADVICE[code] ?? (/^HTTP_5\d\d$/.test(code) ? ADVICE.CORE_UNAVAILABLE : FALLBACK)
  const advice = { ...base }
  if (code === 'PIN_INCORRECT' && typeof detail.tries_left === 'number') {
    advice.advice = `还可以尝试 ${detail.tries_left} 次，次数用完将锁定支付密码。` + base.advice
  }
  if (code === 'PIN_LOCKED' && typeof detail.locked_until === 'string' && detail.locked_until) {
    advice.advice = `锁定至 ${formatTime(detail.locked_until)}。` + base.advice
  }
  if (code === 'TOO_MANY_ATTEMPTS' && typeof detail.retry_after === 'number' && detail.retry_after > 0) {
    advice.advice = `请约${minutesText(detail.retry_after)}后再试。为保护您的信息安全，操作次数已受限`
  }
  return advice
}
