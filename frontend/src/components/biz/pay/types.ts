export type SheetState = 'pin' | 'sending' | 'waiting' | 'locked' | 'closed-error'
