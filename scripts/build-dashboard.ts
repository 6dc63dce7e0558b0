/** Builds dashboard/dist (served by the Worker's assets locally, deployed to Pages in production). */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', 'dashboard');
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
mkdirSync(path.join(root, 'dist'), { recursive: true });
cpSync(path.join(root, 'public'), path.join(root, 'dist'), { recursive: true });
console.log('dashboard built into dashboard/dist');
