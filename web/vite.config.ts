import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import Components from 'unplugin-vue-components/vite'
import { defineConfig } from 'vite'

const page = (path: string) => fileURLToPath(new URL(path, import.meta.url))

// Three pages, three entry points: the citizen page never loads the dashboard's charts.
export default defineConfig({
  plugins: [
    vue(),
    // Element Plus components (and their styles) imported where they are used, not the whole library
    Components({ resolvers: [ElementPlusResolver({ importStyle: 'css' })], dts: false }),
  ],
  define: {
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  build: {
    // built into the Python package, which serves it (cityops.web)
    outDir: page('../src/cityops/web/dist'),
    emptyOutDir: true,
    manifest: true,
    rollupOptions: {
      input: {
        dashboard: page('index.html'),
        console: page('console/index.html'),
        citizen: page('citizen/index.html'),
      },
    },
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
})
