/**
 * dataplane/reclaim.ts against V8 itself: old-space pages that garbage left sparse stay committed
 * after a plain full collection and are given back by the compacting one, which leaves the
 * process's GC settings as they were.
 */
import { getHeapSpaceStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import { reclaimMemory } from "../src/dataplane/reclaim.js";

const oldSpace = (): { physical: number; used: number } => {
  const s = getHeapSpaceStatistics().find((x) => x.space_name === "old_space")!;
  return { physical: s.physical_space_size, used: s.space_used_size };
};

/**
 * ~20 MiB of small objects promoted to old space, of which every other one survives: pages half
 * empty, which V8's own heuristics do not evacuate (it picks pages mostly empty).
 */
function sparseOldSpace(): object[] {
  let all: object[] | null = [];
  for (let i = 0; i < 200_000; i++) all.push({ a: i, b: [i], c: null });
  reclaimMemory();
  reclaimMemory(); // survived two collections: in old space
  const keep = all.filter((_, i) => i % 2 === 0);
  all = null;
  return keep;
}

describe("reclaimMemory", () => {
  it("compacting gives back the sparse pages a plain collection keeps, then collections are plain again", () => {
    const first = sparseOldSpace();
    reclaimMemory();
    const plain = oldSpace();
    expect(plain.physical).toBeGreaterThan(plain.used + (6 << 20));

    reclaimMemory({ compact: true });
    const compacted = oldSpace();
    expect(compacted.physical).toBeLessThan(plain.physical - (6 << 20));
    expect(compacted.physical).toBeLessThan(compacted.used + (3 << 20));

    const second = sparseOldSpace();
    reclaimMemory();
    const again = oldSpace();
    expect(again.physical).toBeGreaterThan(again.used + (6 << 20));
    expect(first.length + second.length).toBe(200_000);
  });
});
