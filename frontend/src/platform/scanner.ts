/**
 * The POS page's camera scanner (H5 only): BarcodeDetector where the
 * browser has it (Chromium on Android/desktop with the shape-detection
 * API), reading QR and Code 128. Elsewhere `scannerAvailable()` is false
 * and the cashier pastes or types the code (a USB scanner types it too).
 */

export interface Scanner {
  stop: () => void
}

interface DetectorLike {
  detect: (source: unknown) => Promise<Array<{ rawValue: string }>>
}

export function scannerAvailable(): boolean {
  let available = false
  // #ifdef H5
  available = typeof window !== 'undefined' && 'BarcodeDetector' in window &&
    !!navigator.mediaDevices?.getUserMedia
  // #endif
  return available
}

/**
 * Start the camera into a new <video> inside the element matching
 * `containerSelector` and call `onCode` once with the first code read.
 * Resolves with a handle to stop it; rejects when the camera is refused.
 */
export async function startScanner(containerSelector: string, onCode: (code: string) => void): Promise<Scanner> {
  // #ifdef H5
  const container = document.querySelector(containerSelector)
  if (!container) throw new Error('no scanner container')
  const element = document.createElement('video')
  element.muted = true
  element.setAttribute('playsinline', 'true')
  element.style.width = '100%'
  element.style.height = '100%'
  element.style.objectFit = 'cover'
  container.appendChild(element)
  const Detector = (window as unknown as { BarcodeDetector: new (o: unknown) => DetectorLike }).BarcodeDetector
  const detector = new Detector({ formats: ['qr_code', 'code_128'] })
  let stream: MediaStream
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false })
  } catch (err) {
    element.remove()
    throw err
  }
  element.srcObject = stream
  await element.play().catch(() => undefined)
  let stopped = false
  const stop = () => {
    stopped = true
    stream.getTracks().forEach((track) => track.stop())
    element.srcObject = null
    element.remove()
  }
  const tick = async () => {
    if (stopped) return
    try {
      const found = await detector.detect(element)
      const value = found.find((f) => /^\d{20,}$/.test(f.rawValue))?.rawValue
      if (value) {
        stop()
        onCode(value)
        return
      }
    } catch {
      // a frame the detector could not read: try the next one
    }
    setTimeout(tick, 250)
  }
  void tick()
  return { stop }
  // #endif
  // #ifdef MP-WEIXIN || MP-ALIPAY
  void containerSelector
  void onCode
  throw new Error('scanner unavailable')
  // #endif
}
