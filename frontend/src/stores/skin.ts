import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import {
  CHANNEL_LABELS,
  DEFAULT_CHANNEL,
  SKIN_FOR_CHANNEL,
  applySkin,
  rememberChannel,
  resolveChannel,
  type Channel,
} from '@/platform'

/** Which channel the app runs in, and therefore which skin it wears. */
export const useSkinStore = defineStore('skin', () => {
  const channel = ref<Channel>(DEFAULT_CHANNEL)
  const skin = computed(() => SKIN_FOR_CHANNEL[channel.value])
  const channelLabel = computed(() => CHANNEL_LABELS[channel.value])
  let initialised = false

  function init(): void {
    if (initialised) return
    initialised = true
    channel.value = resolveChannel()
    applySkin(skin.value)
  }

  /** H5 demo sign-in: pick another channel (mini-programs are fixed at build time). */
  function setChannel(next: Channel): void {
    channel.value = next
    rememberChannel(next)
    applySkin(skin.value)
  }

  return { channel, skin, channelLabel, init, setChannel }
})
