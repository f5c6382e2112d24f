import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The studio is served by `kokoro serve` from web/dist, same origin as the
// API; `npm run dev` proxies /api to a running server (KOKORO_URL).
export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      '/api': { target: process.env.KOKORO_URL || 'http://127.0.0.1:8080', changeOrigin: false },
    },
  },
});
