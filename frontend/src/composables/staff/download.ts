/**
 * Save text as a file from the browser (the console is H5 only): a Blob URL
 * clicked through a temporary <a download>. Returns false where there is no
 * DOM (never the case in the console's build).
 */
export function saveTextFile(filename: string, text: string, mime = 'text/csv;charset=utf-8'): boolean {
  if (typeof document === 'undefined' || typeof URL === 'undefined' || typeof Blob === 'undefined') return false
  const url = URL.createObjectURL(new Blob([text], { type: mime }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.style.display = 'none'
  document.body.appendChild(a)
  a.click()
  document.body.removeChild(a)
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
  return true
}
