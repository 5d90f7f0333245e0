// `npm run docs`: writes the generated documents (see reference.ts).
import fs from 'node:fs';
import { DOCUMENTS } from './documents.js';

for (const [file, render] of Object.entries(DOCUMENTS)) {
  fs.writeFileSync(file, render());
  console.log(`wrote ${file}`);
}
