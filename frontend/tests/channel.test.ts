import { describe, expect, it } from 'vitest'
import { CHANNEL_LABELS, SKIN_FOR_CHANNEL, channelFromUrl, skinClass } from '@/platform/channel'

describe('channel', () => {
  it('reads ?channel= from the search or the hash query', () => {
    expect(channelFromUrl('?channel=alipay', '')).toBe('alipay')
    expect(channelFromUrl('', '#/pages/home/index?channel=nhsa')).toBe('nhsa')
    expect(channelFromUrl('?channel=evil', '')).toBeNull()
    expect(channelFromUrl('', '#/')).toBeNull()
  })

  it('maps channels to skins and Chinese names', () => {
    expect(SKIN_FOR_CHANNEL).toEqual({ wechat: 'wechat', alipay: 'alipay', nhsa: 'wechat' })
    expect(CHANNEL_LABELS).toEqual({ wechat: '微信', alipay: '支付宝', nhsa: '国家医保APP' })
    expect(skinClass('alipay')).toBe('skin-alipay')
  })
})
