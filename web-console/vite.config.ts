// Builds the console to dist/, which the hub serves at `/`. `npm run dev` proxies the
// API and the console channel to a hub on HALYARD_HUB (default http://127.0.0.1:8080).

import preact from '@preact/preset-vite';
import { defaultClientConditions, defineConfig } from 'vite';

const hub = process.env.HALYARD_HUB ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [preact()],
  // The protocol package is TypeScript: bundle its source rather than its Node build.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { target: 'es2022', sourcemap: true, reportCompressedSize: true, chunkSizeWarningLimit: 200 },
  server: {
    // The hub refuses cookie requests and console sockets from another origin (CSRF);
    // through this proxy they come from the dev server's, so they are re-addressed.
    proxy: {
      '/api': { target: hub, changeOrigin: true, headers: { origin: hub } },
      '/v1/console': {
        target: hub.replace(/^http/, 'ws'),
        ws: true,
        changeOrigin: true,
        configure: (proxy) => proxy.on('proxyReqWs', (req) => req.setHeader('origin', hub)),
      },
    },
  },
});
