// Entry of the bundled executable. Built with a V8 startup snapshot, every module
// is already evaluated when the process starts and only main runs; without one
// (plain `node underpin.cjs`), it runs at once.
import { startupSnapshot } from 'node:v8';
import { runAndExit } from './cni-main.js';

if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(runAndExit);
else runAndExit();
