import { defineConfig } from "vitest/config";

// Two projects:
//  - unit: pure tests (wg-core, parsers, renderers); run in parallel.
//  - e2e:  real network namespaces, TUN devices, wireguard-go, PostgreSQL; root only,
//          one file at a time because they share the machine's 2 cores and
//          /var/run/wireguard (UAPI sockets are shared by all namespaces).
// Workspace packages resolve to their TypeScript sources via the "source" export condition,
// so unit tests never run against a stale dist/. E2E tests spawn the built CLIs (pnpm build first).
const conditions = ["source", "import", "node", "default"];
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["packages/*/test/**/*.test.ts", "benchmarks/test/**/*.test.ts"],
          exclude: ["**/*.e2e.test.ts", "**/node_modules/**"],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: "e2e",
          include: ["packages/*/test/**/*.e2e.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          maxWorkers: 1,
        },
      },
    ],
  },
});
