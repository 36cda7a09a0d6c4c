import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vitest/config'

// Unit tests run plain TypeScript modules (http, realtime, stores) without the
// uni plugin; `uni` itself is stubbed per test. Modules under src/platform/
// carry #ifdef blocks, so tests mock '@/platform' instead of importing it.
export default defineConfig({
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  test: { include: ['tests/**/*.test.ts'], environment: 'node' },
})
