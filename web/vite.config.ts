import { defineConfig } from "vite";

// The build goes into the Python package, which serves it at / and /assets/ (hashed names, cached for a year).
export default defineConfig({
  base: "/",
  build: {
    outDir: "../src/netlookup/webui",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
  },
});
