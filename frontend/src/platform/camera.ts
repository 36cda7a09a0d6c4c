/**
 * The liveness camera preview. H5 only (navigator.mediaDevices.getUserMedia);
 * mini-programs answer null and the wizard shows the simulator screen.
 *
 * The preview is local: no frame is read, recorded or uploaded. The result
 * of a liveness check always comes from the provider (today the local
 * simulator), never from this module.
 */

export interface CameraPreview {
  /** Stop the camera and remove the preview. Safe to call twice. */
  stop(): void
}

/** Whether asking for the camera makes sense at all (API present, secure context). */
export function cameraSupported(): boolean {
  // #ifdef H5
  return (
    typeof navigator !== 'undefined' &&
    !!navigator.mediaDevices &&
    typeof navigator.mediaDevices.getUserMedia === 'function' &&
    (typeof window === 'undefined' || window.isSecureContext !== false)
  )
  // #endif
  // #ifdef MP-WEIXIN || MP-ALIPAY
  return false
  // #endif
}

/** A Vue component instance (uni's <view> on H5) or an element. */
function elementOf(target: unknown): HTMLElement | null {
  // #ifdef H5
  const candidate = (target as { $el?: unknown } | null)?.$el ?? target
  return candidate instanceof HTMLElement ? candidate : null
  // #endif
  // #ifdef MP-WEIXIN || MP-ALIPAY
  void target
  return null
  // #endif
}

/**
 * Ask for the front camera and show it inside `container`. Resolves null when
 * there is no camera, the API is missing, or the person refuses permission.
 */
export async function openCameraPreview(container: unknown): Promise<CameraPreview | null> {
  // #ifdef H5
  if (!cameraSupported()) return null
  const host = elementOf(container)
  if (!host) return null
  try {
    // Without any video input, skip the permission prompt altogether.
    if (typeof navigator.mediaDevices.enumerateDevices === 'function') {
      const devices = await navigator.mediaDevices.enumerateDevices()
      if (!devices.some((d) => d.kind === 'videoinput')) return null
    }
  } catch {
    // enumerateDevices refused: let getUserMedia decide
  }
  let stream: MediaStream
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user' }, audio: false })
  } catch {
    return null // NotAllowedError (refused), NotFoundError (no camera), ...
  }
  const video = document.createElement('video')
  video.muted = true
  video.autoplay = true
  video.playsInline = true
  video.setAttribute('playsinline', '')
  video.setAttribute('data-testid', 'liveness-video')
  video.setAttribute('aria-label', '摄像头预览（仅在本机显示，不会上传）')
  video.style.cssText = 'width:100%;height:100%;object-fit:cover;transform:scaleX(-1);display:block;'
  video.srcObject = stream
  host.appendChild(video)
  void video.play().catch(() => undefined)
  let stopped = false
  return {
    stop() {
      if (stopped) return
      stopped = true
      stream.getTracks().forEach((track) => track.stop())
      video.srcObject = null
      video.remove()
    },
  }
  // #endif
  // #ifdef MP-WEIXIN || MP-ALIPAY
  void container
  return null
  // #endif
}
