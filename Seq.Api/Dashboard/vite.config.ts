import { defineConfig } from 'vite';

// Built into the server's wwwroot (next to files the repository keeps there, so the folder is not emptied).
// No inline script or style ends up in index.html: the server's Content-Security-Policy allows neither.
export default defineConfig({
  build: {
    outDir: '../wwwroot',
    emptyOutDir: false,
    assetsDir: 'dashboard',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
});
