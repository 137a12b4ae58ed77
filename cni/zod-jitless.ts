// Imported first by the plugins' entry, before any module that builds a schema.
// Each schema parses once per process, so compiling a fast path for it (zod's JIT,
// new Function per object shape) costs more than it saves. Zod reads the setting
// when a schema is constructed, not when it parses: set after the imports (as
// cni-main did), it came too late and every object schema was still compiled.
import { z } from 'zod';

z.config({ jitless: true });
