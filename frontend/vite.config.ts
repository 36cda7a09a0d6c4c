import { defineConfig } from 'vite'
import uni from '@dcloudio/vite-plugin-uni'

// The H5 base path (/app/) lives in src/manifest.json (h5.router.base and
// h5.publicPath); uni's plugin turns it into Vite's `base`.
export default defineConfig({
  plugins: [uni()],
})
