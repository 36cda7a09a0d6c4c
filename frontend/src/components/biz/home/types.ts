/** One entry of the home page's service grid. */
export interface ServiceEntry {
  key: string
  label: string
  /** A short glyph drawn in the entry's circle (no icon font on every target). */
  glyph: string
  testId: string
  /** The page to open; absent: not yet available (即将开放). */
  url?: string
}
