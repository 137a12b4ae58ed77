// The JSON patch that takes one finalizer off an object without clobbering anybody
// else's change: `test` ops make the API server refuse it (and the controller retry
// on fresh data) if the finalizers changed since we read them, or if the name now
// belongs to a new object (same name, other uid) that must keep its finalizer.

export type JsonPatchOperation =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export function removeFinalizerPatch(metadata: { uid?: string; finalizers?: string[] }, finalizer: string): JsonPatchOperation[] | undefined {
  const current = metadata.finalizers ?? [];
  if (!current.includes(finalizer)) return undefined;
  const guard: JsonPatchOperation[] = metadata.uid !== undefined ? [{ op: 'test', path: '/metadata/uid', value: metadata.uid }] : [];
  return [
    ...guard,
    { op: 'test', path: '/metadata/finalizers', value: current },
    { op: 'replace', path: '/metadata/finalizers', value: current.filter((f) => f !== finalizer) },
  ];
}
