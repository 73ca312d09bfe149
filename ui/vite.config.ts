import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The desktop app embeds `dist/` (see ../tauri.conf.json, build.frontendDist).
// Everything is bundled locally: no CDN, no web fonts, nothing fetched at runtime.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: {
    // Matches build.devUrl in ../tauri.conf.json (`npx tauri dev`).
    port: 5173,
    strictPort: true,
  },
  build: {
    // WebKitGTK 2.40+ (Debian 12) and the other Tauri webviews.
    target: "safari15",
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
  },
});
