// The JSON patch that takes our finalizers off an object without clobbering anybody
// else's change: `test` ops make the API server refuse it (and the controller retry
// on fresh data) if the finalizers changed since we read them, or if the name now
// belongs to a new object (same name, other uid) that must keep its finalizers.

export type JsonPatchOperation =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** Removes every finalizer in `ours` and keeps the others in order; undefined if none is there. */
export function removeFinalizersPatch(
  metadata: { uid?: string; finalizers?: string[] | null },
  ours: readonly string[],
): JsonPatchOperation[] | undefined {
  const current = metadata.finalizers ?? [];
  const kept = current.filter((f) => !ours.includes(f));
  if (kept.length === current.length) return undefined;
  const guard: JsonPatchOperation[] = metadata.uid !== undefined ? [{ op: 'test', path: '/metadata/uid', value: metadata.uid }] : [];
  return [...guard, { op: 'test', path: '/metadata/finalizers', value: current }, { op: 'replace', path: '/metadata/finalizers', value: kept }];
}
